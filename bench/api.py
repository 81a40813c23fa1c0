"""API benchmark on loopback: the service's endpoints against an HTTP and a database floor.

    python bench/api.py DATA_DIR [--pg-url URL] [--duckdb-file FILE] [--connections 1,16,64]
                        [--duration 10] [--only http-floor,db-floor,ours-pg,ours-duckdb,naive]
    python bench/api.py --smoke     # 2,000 generated rows, loaded, 1 s runs, DBs dropped

Targets (every server is a child process on 127.0.0.1, stopped on exit):
  http-floor   a hello-world FastAPI endpoint, run by uvicorn as `analytics serve` runs ours
  db-floor     pgbench -M prepared running the project's sql/*.sql per endpoint on the same
               PostgreSQL database, a random campaign per transaction (see pgbench_script)
  ours-pg      `analytics serve` with DATABASE_URL on PostgreSQL (already loaded)
  ours-duckdb  `analytics serve` with DATABASE_URL=duckdb:///FILE (already loaded)
               (both with ANONYMOUS_TENANT=default: the data is loaded into tenant default
               and the requests carry no key)
  naive        per request, DuckDB views over the CSV files + the performance query;
               measured with a few sequential requests (it reads the whole metrics file)
Endpoints: performance, top (limit=10), anomalies (thresholds from a local benchmark
server started here, answering from DATA_DIR/benchmarks.json).

Load: wrk with bench/pick_campaign.lua at each connection count (threads = min(c, --threads)),
after a warm-up; req/s, p50, p99 and errors (non-2xx + socket errors). Without --pg-url and
--duckdb-file, DATA_DIR is loaded into bench_api_<scale> and bench/out/work/… (a no-op when
already loaded); --drop removes them afterwards. Results are merged into
bench/out/api-<scale>.json and printed as Markdown.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib

TARGETS = ("http-floor", "db-floor", "ours-pg", "ours-duckdb", "naive")
ENDPOINTS = {
    "performance": ("/campaigns/{id}/performance", "campaign_performance.sql"),
    "top": ("/creators/top?campaign_id={id}&limit=10", "top_creators.sql"),
    "anomalies": ("/campaigns/{id}/anomalies", "daily_anomalies.sql"),
}
HELLO = ("hello", "/campaigns/{id}/performance")
LUA = lib.BENCH_DIR / "pick_campaign.lua"
TABLE_HEADERS = ["conns", "target", "req/s", "p50 ms", "p99 ms", "errors"]
TABLE_HEADERS += ["vs DB floor", "vs HTTP floor"]
SERVICE_VARIABLES = (
    "DATA_DIR",
    "DATABASE_URL",
    "DATASET_NAME",
    "BENCHMARK_API_BASE",
    "BENCHMARK_FIXTURES_FILE",
    "ANONYMOUS_TENANT",
)
ANONYMOUS_TENANT = "default"  # where `analytics load` puts data without --tenant


class Context:
    """Settings of one run, and the files every target shares."""

    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.data_dir: Path = args.data_dir.resolve()
        self.rows = lib.count_metric_rows(self.data_dir)
        self.scale: str = args.scale or lib.scale_label(self.rows)
        self.tag = re.sub(r"[^a-z0-9]", "_", self.scale.lower())
        self.ids = lib.campaign_ids(self.data_dir)
        self.ids_file = scratch / "campaign_ids.txt"
        self.ids_file.write_text("".join(quote(i, safe="") + "\n" for i in self.ids))
        self.scratch = scratch
        self.connections: list[int] = args.connections
        self.endpoints: list[str] = args.endpoints
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
        self.env["LOG_LEVEL"] = args.log_level.upper()
        self.pg_url: str | None = None  # SQLAlchemy URL of the loaded database
        self.duckdb_file: Path | None = None
        self.thresholds_url: str | None = None

    def pg_libpq_url(self) -> str:
        """The served database's URL for libpq clients (pgbench, psycopg)."""
        assert self.pg_url is not None
        return re.sub(r"^postgresql\+\w+://", "postgresql://", self.pg_url)

    def settings(self) -> dict[str, Any]:
        keys = ("duration", "warmup", "workers", "threads", "log_level", "wrk_timeout", "seed")
        return {key: getattr(self.args, key) for key in keys} | {
            "connections": self.connections,
            "naive_requests": self.args.naive_requests,
        }


# --------------------------------------------------------------------------- load tools


def wrk(ctx: Context, base_url: str, template: str, connections: int, seconds: int) -> dict:
    """One wrk run; req/s, latency percentiles (ms) and errors."""
    options = {
        "-t": min(connections, ctx.args.threads),
        "-c": connections,
        "-d": f"{seconds}s",
        "--timeout": f"{ctx.args.wrk_timeout}s",
        "-s": LUA,
    }
    command = [lib.require_tool("wrk", "apt-get install -y wrk"), *lib.flags(options), base_url]
    command += ["--", str(ctx.ids_file), template, str(ctx.args.seed)]
    run = lib.run_measured(
        command,
        env=ctx.env,
        timeout=seconds + ctx.args.wrk_timeout + 60,
        log_path=lib.LOG_DIR / f"wrk-c{connections}",
    )
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        return {"ok": False, "error": run.tail(), "tool": "wrk"}
    raw = json.loads(line.removeprefix("WRK_JSON "))
    socket_errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors"))
    socket_errors += raw["timeouts"]
    return {
        "ok": True,
        "tool": "wrk",
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non2xx": raw["non2xx"],
        "socket_errors": socket_errors,
        "errors": raw["non2xx"] + socket_errors,
        "wrk": raw,
    }


def pgbench_script(ctx: Context, sql_file: str) -> Path:
    """The project's SQL, :campaign_id a random campaign of campaigns.csv per transaction.

    pgbench variables are numbers only, so `\\set k` picks an index and `:campaign_id`
    becomes `(ARRAY[<every id>])[:k]`: one statement, no extra round trip for a lookup. In
    custom plans the constant subscript folds to the id itself, as a bound id would be.
    """
    sql = strip_comments((lib.SQL_DIR / sql_file).read_text())
    ids = "(ARRAY[" + ", ".join(sql_literal(i) for i in ctx.ids) + "])[:k]"
    lines = [f"\\set k random(1, {len(ctx.ids)})"]
    if ":limit" in sql:
        lines.append("\\set limit 10")
    body = sql.replace(":campaign_id", ids).rstrip().rstrip(";")
    path = ctx.scratch / f"pgbench-{sql_file}"
    path.write_text("\n".join(lines) + "\n" + body + ";\n", encoding="utf-8")
    return path


def sql_literal(text: str) -> str:
    """An E'' literal; `:` escaped too, or pgbench would take `:name` for a variable."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a")
    return f"E'{escaped}'"


def strip_comments(sql: str) -> str:
    """Drop `--` comments (pgbench would substitute :variables inside them too)."""
    kept = (line.split("--", 1)[0].rstrip() for line in sql.splitlines())
    return "\n".join(line for line in kept if line)


def pgbench(ctx: Context, script: Path, connections: int, seconds: int) -> dict:
    """One pgbench run; latency percentiles from its per-transaction log."""
    log_dir = Path(tempfile.mkdtemp(prefix="pgbench-", dir=ctx.scratch))
    options = {
        "-M": "prepared",
        "-c": connections,
        "-j": min(connections, ctx.args.threads),
        "-T": seconds,
        "-f": script,
        "--log-prefix": log_dir / "tx",
    }
    # No -r: per-statement timing makes pgbench 15 log many transactions with latency 0.
    command = [lib.pg_tool("pgbench"), "-n", "-l", *lib.flags(options), ctx.pg_libpq_url()]
    run = lib.run_measured(
        command,
        env=ctx.env,
        timeout=seconds + 120,
        log_path=lib.LOG_DIR / f"pgbench-c{connections}",
    )
    latencies, failed = read_pgbench_logs(log_dir)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    if tps is None:
        return {"ok": False, "error": run.tail(), "tool": "pgbench"}
    aborted = run.stderr.count("aborted")
    return {
        "ok": run.returncode == 0,
        "tool": "pgbench",
        "requests": len(latencies) + failed,
        "rps": float(tps.group(1)),
        "p50_ms": ms(lib.percentile(latencies, 50)),
        "p90_ms": ms(lib.percentile(latencies, 90)),
        "p99_ms": ms(lib.percentile(latencies, 99)),
        "max_ms": ms(max(latencies, default=None)),
        "non2xx": 0,
        "socket_errors": 0,
        "errors": failed + aborted,
    }


def ms(micros: float | None) -> float | None:
    return None if micros is None else micros / 1000


def read_pgbench_logs(log_dir: Path) -> tuple[list[float], int]:
    """Per-transaction logs: `client tx latency_us script epoch us`; 'failed' counts."""
    latencies, failed = [], 0
    for path in log_dir.glob("tx*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            if fields[2].isdigit():
                latencies.append(float(fields[2]))
            elif fields[2] == "failed":
                failed += 1
    return latencies, failed


def sequential_requests(ctx: Context, base_url: str, template: str, count: int) -> dict:
    """A few requests one after another (for the naive anchor, seconds each)."""
    picker = random.Random(ctx.args.seed)
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=ctx.args.naive_timeout)
    latencies, non2xx, socket_errors = [], 0, 0
    started = time.perf_counter()
    for _ in range(count):
        path = template.replace("{id}", quote(picker.choice(ctx.ids), safe=""))
        begun = time.perf_counter()
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
        except OSError:
            socket_errors += 1
            connection.close()
            continue
        latencies.append((time.perf_counter() - begun) * 1000)
        non2xx += not 200 <= answer.status < 300
    elapsed = time.perf_counter() - started
    connection.close()
    return {
        "ok": bool(latencies),
        "tool": f"{count} sequential requests",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed if elapsed else None,
        "p50_ms": lib.percentile(latencies, 50),
        "p90_ms": lib.percentile(latencies, 90),
        "p99_ms": lib.percentile(latencies, 99),
        "max_ms": max(latencies, default=None),
        "non2xx": non2xx,
        "socket_errors": socket_errors,
        "errors": non2xx + socket_errors,
    }


# --------------------------------------------------------------------------- servers


def python_app(ctx: Context, app: str, *extra: str) -> lib.Server:
    port = lib.free_port()
    command = [sys.executable, str(lib.BENCH_DIR / "apps.py"), app, "--port", str(port)]
    command += ["--workers", str(ctx.args.workers), "--log-level", ctx.args.log_level, *extra]
    return lib.Server(f"{app}-app", command, port, env=dict(ctx.env))


def thresholds_server(ctx: Context) -> lib.Server:
    port = lib.free_port()
    command = [sys.executable, str(lib.BENCH_DIR / "apps.py"), "thresholds", "--port", str(port)]
    command += ["--benchmarks", str(ctx.data_dir / "benchmarks.json")]
    return lib.Server("thresholds", command, port, env=dict(ctx.env))


def service(ctx: Context, name: str, database_url: str) -> lib.Server:
    port = lib.free_port()
    command = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(ctx.args.workers)]
    # Anonymous requests read the loaded tenant (with DATABASE_URL alone they answer 401).
    env = dict(ctx.env, DATABASE_URL=database_url, ANONYMOUS_TENANT=ANONYMOUS_TENANT)
    if ctx.thresholds_url:
        env["BENCHMARK_API_BASE"] = ctx.thresholds_url
    return lib.Server(name, command, port, env=env)


# --------------------------------------------------------------------------- targets


def measure_http(
    ctx: Context, target: str, server: lib.Server, endpoints: list[tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    """Each endpoint: a sample request, a warm-up, then every connection count."""
    import psutil

    for endpoint, template in endpoints:
        sample = template.replace("{id}", quote(ctx.ids[0], safe=""))
        status, body = lib.http_get(server.base_url + sample, timeout=ctx.args.wrk_timeout)
        if not 200 <= status < 300:
            print(f"  ! {target} {sample} answered {status}: {body[:200]!r}", file=sys.stderr)
        if ctx.args.warmup:
            wrk(ctx, server.base_url, template, max(ctx.connections), ctx.args.warmup)
        for connections in ctx.connections:
            cpu_before = tree_cpu_seconds(psutil.Process(server.process.pid))
            measured = wrk(ctx, server.base_url, template, connections, ctx.args.duration)
            cpu = tree_cpu_seconds(psutil.Process(server.process.pid)) - cpu_before
            rss = lib.tree_rss(psutil.Process(server.process.pid)) / 2**20
            requests = measured.get("requests") or 0
            yield entry(
                target,
                endpoint,
                connections,
                measured,
                sample_status=status,
                server_rss_mb=round(rss, 1),
                # the server's own CPU per answer (user + system, every worker): what one
                # request costs whatever else shares the machine
                server_cpu_ms_per_request=round(cpu / requests * 1000, 3) if requests else None,
            )


def tree_cpu_seconds(root: Any) -> float:
    """User + system CPU seconds of a process and its children (uvicorn's workers)."""
    import psutil

    total = 0.0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def entry(target: str, endpoint: str, connections: int, measured: dict, **extra: Any) -> dict:
    row = {"target": target, "endpoint": endpoint, "connections": connections}
    row |= measured | extra
    row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(f"  {summary(row)}", file=sys.stderr, flush=True)
    return row


def summary(row: dict[str, Any]) -> str:
    if not row.get("ok"):
        return f"{row['target']} {row['endpoint']} c={row['connections']}: FAILED"
    return (
        f"{row['target']} {row['endpoint']} c={row['connections']}: {row['rps']:,.0f} req/s, "
        f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, errors {row['errors']}"
    )


def run_http_floor(ctx: Context) -> Iterator[dict[str, Any]]:
    with python_app(ctx, "hello") as server:
        yield from measure_http(ctx, "http-floor", server, [HELLO])


def run_db_floor(ctx: Context) -> Iterator[dict[str, Any]]:
    for endpoint in ctx.endpoints:
        script = pgbench_script(ctx, ENDPOINTS[endpoint][1])
        if ctx.args.warmup:
            pgbench(ctx, script, max(ctx.connections), ctx.args.warmup)
        for connections in ctx.connections:
            measured = pgbench(ctx, script, connections, ctx.args.duration)
            yield entry("db-floor", endpoint, connections, measured, sql=ENDPOINTS[endpoint][1])


def ours_endpoints(ctx: Context) -> list[tuple[str, str]]:
    return [(endpoint, ENDPOINTS[endpoint][0]) for endpoint in ctx.endpoints]


def run_ours_pg(ctx: Context) -> Iterator[dict[str, Any]]:
    with service(ctx, "ours-pg", ctx.pg_url) as server:
        yield from measure_http(ctx, "ours-pg", server, ours_endpoints(ctx))


def run_ours_duckdb(ctx: Context) -> Iterator[dict[str, Any]]:
    with service(ctx, "ours-duckdb", f"duckdb:///{ctx.duckdb_file}") as server:
        yield from measure_http(ctx, "ours-duckdb", server, ours_endpoints(ctx))


def run_naive(ctx: Context) -> Iterator[dict[str, Any]]:
    with python_app(ctx, "naive", "--data-dir", str(ctx.data_dir)) as server:
        template = ENDPOINTS["performance"][0]
        sequential_requests(ctx, server.base_url, template, 1)  # warm-up
        measured = sequential_requests(ctx, server.base_url, template, ctx.args.naive_requests)
        yield entry("naive", "performance", 1, measured)


def planned(ctx: Context, target: str) -> list[tuple[str, int]]:
    """The (endpoint, connections) measurements a target makes."""
    if target == "naive":
        return [("performance", 1)]
    endpoints = ["hello"] if target == "http-floor" else ctx.endpoints
    return [(endpoint, count) for endpoint in endpoints for count in ctx.connections]


def run_target(ctx: Context, target: str) -> list[dict[str, Any]]:
    """Every measurement of a target; a server that cannot start is recorded as a failure."""
    rows: list[dict[str, Any]] = []
    try:
        rows.extend(RUNNERS[target](ctx))
    except RuntimeError as error:
        print(f"  ! {target}: {error}", file=sys.stderr)
        done = {(row["endpoint"], row["connections"]) for row in rows}
        failed = {"ok": False, "error": str(error)}
        rows += [entry(target, *key, failed) for key in planned(ctx, target) if key not in done]
    return rows


RUNNERS = {
    "http-floor": run_http_floor,
    "db-floor": run_db_floor,
    "ours-pg": run_ours_pg,
    "ours-duckdb": run_ours_duckdb,
    "naive": run_naive,
}


# --------------------------------------------------------------------------- databases


def pg_database_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def prepare_databases(ctx: Context, targets: list[str], stack: ExitStack) -> None:
    """The loaded databases to serve: given, or bench_api_<scale> loaded here (no-op if
    already current); --drop removes the ones made here afterwards."""
    needs_pg = {"db-floor", "ours-pg"} & set(targets)
    needs_duckdb = "ours-duckdb" in targets
    analytics = lib.venv_tool("analytics")
    load = [analytics, "load", str(ctx.data_dir), "--dataset", f"bench-{ctx.tag}"]
    if needs_pg:
        ctx.pg_url = ctx.args.pg_url or lib.sqlalchemy_url(
            lib.db_name("api", ctx.tag), ctx.args.pg_server
        )
        if not ctx.args.pg_url:
            name = pg_database_of(ctx.pg_url)
            if not lib.database_exists(name, ctx.args.pg_server):
                lib.create_database(name, ctx.args.pg_server)
            lib.run_checked([analytics, "migrate", "--database-url", ctx.pg_url], env=ctx.env)
            timed_load(ctx, [*load, "--database-url", ctx.pg_url])
            if ctx.args.drop:
                stack.callback(lib.drop_database, name, ctx.args.pg_server)
    if needs_duckdb:
        given = ctx.args.duckdb_file
        ctx.duckdb_file = (given or ctx.args.work_dir / f"bench_api_{ctx.tag}.duckdb").resolve()
        if not given:
            ctx.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
            timed_load(ctx, [*load, "--database-url", f"duckdb:///{ctx.duckdb_file}"])
            if ctx.args.drop:
                stack.callback(ctx.duckdb_file.unlink, missing_ok=True)


def timed_load(ctx: Context, command: list[str]) -> None:
    started = time.perf_counter()
    out = lib.run_checked(command, env=ctx.env).strip().splitlines()
    print(
        f"  load: {out[-1] if out else ''} ({time.perf_counter() - started:.1f} s)", file=sys.stderr
    )


# --------------------------------------------------------------------------- report


def results_path(out_dir: Path, scale: str) -> Path:
    return out_dir / f"api-{scale}.json"


def merge(report: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    def key(row: dict[str, Any]) -> tuple[str, str, int]:
        return row["target"], row["endpoint"], row["connections"]

    fresh = {key(row) for row in rows}
    report["results"] = [r for r in report.get("results", []) if key(r) not in fresh] + rows


def tables(report: dict[str, Any]) -> str:
    """One Markdown table per endpoint: every target at every connection count."""
    rows = report.get("results", [])
    index = {(r["target"], r["endpoint"], r["connections"]): r for r in rows if r.get("ok")}
    out = []
    for endpoint in [*ENDPOINTS, "hello"]:
        lines = []
        for row in sorted(rows, key=lambda r: (r["connections"], TARGETS.index(r["target"]))):
            if row["endpoint"] != endpoint or endpoint == "hello":
                continue
            lines.append(table_row(row, index))
        if lines:
            title = f"#### `{ENDPOINTS[endpoint][0]}`\n\n"
            out.append(title + lib.markdown_table(TABLE_HEADERS, lines))
    floor = [table_row(r, index)[:6] for r in rows if r["endpoint"] == "hello"]
    if floor:
        title = "#### HTTP floor (hello world)\n\n"
        out.insert(0, title + lib.markdown_table(TABLE_HEADERS[:6], floor))
    return "\n\n".join(out)


def table_row(row: dict[str, Any], index: dict) -> list[Any]:
    if not row.get("ok"):
        return [row["connections"], row["target"], "FAILED", None, None, None, None, None]
    db = index.get(("db-floor", row["endpoint"], row["connections"]))
    http = index.get(("http-floor", "hello", row["connections"]))
    ours = row["target"].startswith("ours")
    return [
        row["connections"],
        row["target"],
        lib.fmt(row["rps"], 1) if row["rps"] < 100 else lib.fmt(row["rps"]),
        lib.sig(row["p50_ms"]),
        lib.sig(row["p99_ms"]),
        row["errors"],
        round(row["rps"] / db["rps"], 3) if ours and db and db["rps"] else None,
        round(row["rps"] / http["rps"], 3) if ours and http and http["rps"] else None,
    ]


# --------------------------------------------------------------------------- main


def csv_ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", help="the generated data directory")
    parser.add_argument("--pg-url", help="loaded PostgreSQL database (postgresql+psycopg://…)")
    parser.add_argument("--duckdb-file", type=Path, help="loaded DuckDB file")
    parser.add_argument("--pg-server", default=lib.PG_SERVER, help="libpq URL, no database")
    parser.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--connections", type=csv_ints, default=[1, 16, 64])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds, per endpoint (0: none)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of every app")
    parser.add_argument("--threads", type=int, default=2, help="wrk/pgbench threads at most")
    parser.add_argument("--log-level", default="info", help="LOG_LEVEL of every app")
    parser.add_argument("--wrk-timeout", type=int, default=10, help="seconds per request")
    parser.add_argument("--naive-requests", type=int, default=5)
    parser.add_argument("--naive-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", help="label of the results file (default: from row count)")
    parser.add_argument("--work-dir", type=Path, default=lib.OUT_DIR / "work")
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--drop", action="store_true", help="drop what was loaded here")
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s runs, dropped")
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.only.split(",") if t.strip()]
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if set(args.targets) - set(TARGETS) or set(args.endpoints) - set(ENDPOINTS):
        parser.error(f"targets: {', '.join(TARGETS)}; endpoints: {', '.join(ENDPOINTS)}")
    if args.smoke:
        args.out_dir = args.work_dir = lib.OUT_DIR / "smoke"
        args.data_dir = args.data_dir or args.out_dir / "data"
        args.scale, args.duration, args.warmup = args.scale or "smoke", 1, 1
        args.naive_requests, args.drop = 3, True
    if args.data_dir is None:
        parser.error("DATA_DIR is required (unless --smoke)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    if args.smoke:
        lib.run_checked([sys.executable, str(lib.BENCH_DIR / "generate.py"), "--smoke"])
    path = None
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        ctx = Context(args, Path(scratch))
        path = results_path(args.out_dir, ctx.scale)
        print(
            f"api benchmark: {ctx.rows:,} rows ({ctx.scale}), {len(ctx.ids)} campaigns, "
            f"targets {', '.join(args.targets)}",
            file=sys.stderr,
        )
        prepare_databases(ctx, args.targets, stack)
        if {"ours-pg", "ours-duckdb"} & set(args.targets):
            threshold = stack.enter_context(thresholds_server(ctx))
            ctx.thresholds_url = threshold.base_url
        report = lib.read_json(path)
        report.update(
            scale=ctx.scale,
            rows=ctx.rows,
            campaigns=len(ctx.ids),
            data_dir=str(ctx.data_dir),
            machine=lib.machine_info(),
            settings=ctx.settings(),
        )
        for target in args.targets:
            print(f"[{target}]", file=sys.stderr, flush=True)
            merge(report, run_target(ctx, target))
            lib.write_json(path, report)
    print(
        f"\n### API, {report['scale']} rows ({report['rows']:,}), "
        f"{args.workers} worker(s), {args.duration} s per run\n"
    )
    print(tables(report))
    print(f"\n(results: {path})")
    failed = [r for r in report["results"] if not r.get("ok")]
    if failed:
        raise SystemExit(f"{len(failed)} measurements failed (see {path})")


if __name__ == "__main__":
    main()
