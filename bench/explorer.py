"""The metrics explorer at scale: two common questions against a loaded PostgreSQL database.

    python bench/explorer.py --database bench_star_20m --tenant big [--duration 10]
    python bench/explorer.py --database bench_star_20m --tenant big --only sources

`http` (default): serves the database with `analytics serve` (anonymous requests read
`--tenant`) and runs wrk at `--connections` (16) for each question:
  (a) a quarter of daily totals by platform (the four quarters of the data's first year,
      drawn at random per request), the whole answer in one page (`--limit`, 1000);
  (b) a year of monthly totals by region and device type (the same page size).
`sources`: the statement the builder makes for each question, run against every table it
could read (month rollup, single-breakdown day rollups, day rollup, the facts),
EXPLAIN ANALYZE'd `--repeat` times each in one session: the median execution time says
what each physical design costs.
Two more questions show the other paths: (c) one campaign's quarter by week and platform
(only the facts keep campaigns), (d) a quarter by age group and gender (the facts).

The load average is recorded before each run; results go to bench/out/explorer-<db>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib
from api import ms

QUESTIONS = {
    "a_quarter_daily_by_platform": (
        "/metrics?{id}&granularity=day&group_by=platform&limit={limit}",
        [
            "date_from=2025-01-01&date_to=2025-03-31",
            "date_from=2025-04-01&date_to=2025-06-30",
            "date_from=2025-07-01&date_to=2025-09-30",
            "date_from=2025-10-01&date_to=2025-12-31",
        ],
    ),
    "b_year_monthly_by_region_device": (
        "/metrics?{id}&granularity=month&group_by=region,device_type&limit={limit}",
        ["date_from=2025-01-01&date_to=2025-12-31"],
    ),
}


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each of these processes so far (one gone meanwhile: absent)."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings: a process started meanwhile counts whole (the
    connections a pool opens under load), one gone meanwhile not at all."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _group(pgid: int) -> list[int]:
    """The processes of a process group (the server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _postgres() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def run_wrk(
    base_url: str, template: str, ids: list[str], args: argparse.Namespace, server_pgid: int
) -> dict:
    ids_file = lib.OUT_DIR / "work" / "explorer-ids.txt"
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    ids_file.write_text("\n".join(ids) + "\n")
    command = [lib.require_tool("wrk", "apt-get install -y wrk"), "-t", "2"]
    command += ["-c", str(args.connections), "-d", f"{args.duration}s", "--timeout", "10s"]
    command += ["-s", str(lib.BENCH_DIR / "pick_campaign.lua"), base_url]
    command += ["--", str(ids_file), template, "7"]
    before = load_average()
    served_before, databases_before = _cpu_seconds(_group(server_pgid)), _cpu_seconds(_postgres())
    run = lib.run_measured(command, timeout=args.duration + 60, log_path=lib.LOG_DIR / "wrk-x")
    served = _spent(served_before, _cpu_seconds(_group(server_pgid)))
    databases = _spent(databases_before, _cpu_seconds(_postgres()))
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "load_average_before": before,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": ms(raw["p50_us"]),
        "p90_ms": ms(raw["p90_us"]),
        "p99_ms": ms(raw["p99_us"]),
        "max_ms": ms(raw["max_us"]),
        "errors": raw["non2xx"] + raw["timeouts"] + raw["connect_errors"] + raw["read_errors"],
        # CPU per answer: the service's processes, and every PostgreSQL process of the
        # machine (an upper bound when something else uses the database meanwhile)
        "server_cpu_ms": round(served * 1000 / raw["requests"], 2),
        "postgres_cpu_ms": round(databases * 1000 / raw["requests"], 2),
    }


def http(args: argparse.Namespace) -> dict[str, Any]:
    port = lib.free_port()
    command = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(args.workers)]
    env = dict(os.environ, DATABASE_URL=lib.sqlalchemy_url(args.database))
    env |= {"ANONYMOUS_TENANT": args.tenant, "SCHEDULER_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    results = {}
    with lib.Server("explorer-serve", command, port, env=env) as server:
        for name, (pattern, ids) in QUESTIONS.items():
            template = pattern.replace("{limit}", str(args.limit))
            status, body = lib.http_get(server.base_url + template.replace("{id}", ids[0]))
            rows = len(json.loads(body)["rows"]) if status == 200 else None
            print(f"{name}: HTTP {status}, {rows} rows", file=sys.stderr)
            assert server.process is not None
            results[name] = {"status": status, "rows": rows} | run_wrk(
                server.base_url, template, ids, args, os.getpgid(server.process.pid)
            )
            print(f"  {results[name]}", file=sys.stderr)
    return results


def sources(args: argparse.Namespace) -> dict[str, Any]:
    """Each question's statement against each table it could be read from."""
    from sqlalchemy import create_engine, text

    from analytics.adapters import explorer_sql
    from analytics.domain.explorer import ExplorerQuery

    questions = {
        "a_quarter_daily_by_platform": ExplorerQuery(
            dt.date(2025, 4, 1), dt.date(2025, 6, 30), "day", ("platform",)
        ),
        "b_year_monthly_by_region_device": ExplorerQuery(
            dt.date(2025, 1, 1), dt.date(2025, 12, 31), "month", ("region", "device_type")
        ),
        "c_campaign_quarter_weekly_by_platform": ExplorerQuery(
            dt.date(2025, 4, 1),
            dt.date(2025, 6, 30),
            "week",
            ("platform",),
            (("campaign_id", ("cmp-0001",)),),
        ),
        "d_quarter_by_age_and_gender": ExplorerQuery(
            dt.date(2025, 4, 1), dt.date(2025, 6, 30), "total", ("age_group", "gender")
        ),
    }
    engine = create_engine(lib.sqlalchemy_url(args.database))
    every_source, results = explorer_sql._SOURCES, {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SET max_parallel_workers_per_gather = 0"))
            for name, query in questions.items():
                for source in every_source:
                    explorer_sql._SOURCES = (source,)
                    try:
                        explorer_sql._source(query)
                    except AssertionError:  # this table cannot answer the question
                        continue
                    statement = explorer_sql.explorer_statement(
                        query, args.tenant, after=None, limit=1001
                    )
                    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
                    facts = source is every_source[-1]  # seconds a run: fewer runs
                    runs = min(3, args.repeat) if facts else args.repeat
                    times = [_execution_ms(connection, sql) for _ in range(runs)]
                    key = f"{name} from {source.table.name}"
                    results[key] = {
                        "median_ms": round(statistics.median(times), 2),
                        "min_ms": round(min(times), 2),
                        "load_average": load_average(),
                    }
                    print(f"{key}: {results[key]}", file=sys.stderr)
    finally:
        explorer_sql._SOURCES = every_source
        engine.dispose()
    return results


def _execution_ms(connection: Any, sql: str) -> float:
    from sqlalchemy import text

    plan = connection.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)).scalar_one()
    return float(plan[0]["Execution Time"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, type=lib.check_bench_name)
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--only", choices=("http", "sources"), default="http")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--limit", type=int, default=1000, help="page size (http)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    measured = http(args) if args.only == "http" else sources(args)
    out = lib.OUT_DIR / f"explorer-{args.database}.json"
    previous = lib.read_json(out) if out.exists() else {}
    key = f"{args.only}-w{args.workers}-c{args.connections}-l{args.limit}"
    previous[key] = {"machine": lib.machine_info(), "results": measured}
    lib.write_json(out, previous)
    print(json.dumps(measured, indent=2))


if __name__ == "__main__":
    main()
