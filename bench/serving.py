"""Serving at scale, in one run: the service against both floors, with 1 and 2 workers.

    python bench/serving.py DATA_DIR --pg-url URL [--workers 1,2] [--duration 8] [--warmup 2]
                            [--connections 16] [--embedded-connections 32]
                            [--only http-floor,db-floor,ours-pg,embedded]
                            [--mode cold|warm] [--server-env NAME=VALUE ...]
    python bench/serving.py --smoke    # 2,000 generated rows, loaded, 1 s runs, DB dropped

Measures, at `--connections` (16) and for every worker count of `--workers`:
  http-floor   the hello-world FastAPI app under uvicorn with that many workers
  db-floor     pgbench -M prepared on the project's sql/*.sql (one run per endpoint; the
               database has its own processes, so it is measured once, -j 2)
  ours-pg      `analytics serve --workers N` on the loaded PostgreSQL database (tenant
               `default`, anonymous), thresholds from a local benchmark server
and, at `--embedded-connections` (32), what `make run` serves: `analytics serve` with
DATA_DIR=data/visible, BENCHMARK_FIXTURES_FILE and no DATABASE_URL (DuckDB in memory):
`/health` and the three endpoints, next to the hello-world floor at the same concurrency.

Every ratio is computed from this run only: ours / min(DB floor, HTTP floor) per endpoint and
worker count, and the scaling from the first to the second worker count. The load average
is recorded with every measurement (the machine is shared).

`--mode cold` (default) removes every REDIS_* / CACHE_* / RATE_LIMIT* variable from the
servers' environment; `--mode warm` is a label for runs with a cache: pass the cache's
settings with `--server-env` (e.g. `--server-env REDIS_URL=redis://127.0.0.1:6379/5`), and
the rate-limit settings that let one client send thousands of requests per second. Results
go to bench/out/serving-<scale>-<mode>.json; Markdown on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api
import benchlib as lib

TARGETS = ("http-floor", "db-floor", "ours-pg", "embedded")
EMBEDDED_DATA = lib.ROOT / "data" / "visible"
HEALTH = ("health", "/health?probe={id}")  # wrk's script needs an {id}; the query is ignored
CACHE_PREFIXES = ("REDIS_", "CACHE_", "RATE_LIMIT")


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment every server gets: no cache or rate-limit setting of ours in cold
    mode, and the `--server-env` pairs on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CACHE_PREFIXES)}
    return env | dict(pair.split("=", 1) for pair in args.server_env)


def api_context(args: argparse.Namespace, data_dir: Path, scratch: Path, conns: int) -> Any:
    """An `api.py` context (ids file, wrk and pgbench settings) for one data directory."""
    argv = [str(data_dir), "--connections", str(conns), "--duration", str(args.duration)]
    argv += ["--warmup", str(args.warmup), "--log-level", args.log_level]
    argv += ["--seed", str(args.seed), "--threads", str(args.threads)]
    sub = scratch / data_dir.name
    sub.mkdir(exist_ok=True)
    ctx = api.Context(api.parse_args(argv), sub)
    ctx.env = {k: v for k, v in server_environment(args).items() if k not in api.SERVICE_VARIABLES}
    ctx.env["LOG_LEVEL"] = args.log_level.upper()
    ctx.pg_url = args.pg_url
    return ctx


def tagged(rows: Iterator[dict[str, Any]], **tags: Any) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield row | tags


def run_http_floor(ctx: Any, workers: int) -> Iterator[dict[str, Any]]:
    ctx.args.workers = workers
    with api.python_app(ctx, "hello") as server:
        yield from tagged(api.measure_http(ctx, "http-floor", server, [api.HELLO]), workers=workers)


def run_db_floor(ctx: Any) -> Iterator[dict[str, Any]]:
    yield from tagged(api.run_db_floor(ctx), workers=None)


def run_ours_pg(ctx: Any, workers: int) -> Iterator[dict[str, Any]]:
    ctx.args.workers = workers
    with api.service(ctx, f"ours-pg-w{workers}", ctx.pg_url) as server:
        rows = api.measure_http(ctx, "ours-pg", server, api.ours_endpoints(ctx))
        yield from tagged(rows, workers=workers)


def run_embedded(ctx: Any) -> Iterator[dict[str, Any]]:
    """`make run`'s configuration: DuckDB in memory, the sample loaded at start-up."""
    ctx.args.workers = 1
    with api.python_app(ctx, "hello") as server:
        rows = api.measure_http(ctx, "embedded-http-floor", server, [api.HELLO])
        yield from tagged(rows, workers=1)
    port = lib.free_port()
    command = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = dict(ctx.env, DATA_DIR=str(EMBEDDED_DATA))
    env["BENCHMARK_FIXTURES_FILE"] = str(EMBEDDED_DATA / "benchmarks.json")
    with lib.Server("embedded", command, port, env=env) as server:
        endpoints = [HEALTH, *api.ours_endpoints(ctx)]
        yield from tagged(api.measure_http(ctx, "embedded", server, endpoints), workers=1)


# --------------------------------------------------------------------------- report


def find(rows: list[dict[str, Any]], target: str, endpoint: str, workers: int | None) -> Any:
    for row in rows:
        if (row["target"], row["endpoint"], row.get("workers")) == (target, endpoint, workers):
            return row if row.get("ok") else None
    return None


def rps(row: dict[str, Any] | None) -> float | None:
    return None if row is None else row["rps"]


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def line(cells: list[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def tables(report: dict[str, Any]) -> str:
    rows, workers = report["results"], report["settings"]["workers"]
    out = ["| target | endpoint | workers | conns | req/s | p50 ms | p99 ms | errors |"]
    out[0] += " server CPU ms/req | load avg |"
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        cells = [row["target"], row["endpoint"], row.get("workers") or "-", row["connections"]]
        if row.get("ok"):
            cells += [lib.fmt(row["rps"]), lib.sig(row["p50_ms"]), lib.sig(row["p99_ms"])]
            cells += [row["errors"], row.get("server_cpu_ms_per_request") or "-"]
            cells += [row["load_average"][0]]
        else:
            cells += ["FAILED", "-", "-", "-", "-", row["load_average"][0]]
        out.append(line(cells))
    out += ["", "| endpoint | workers | ours / DB floor | ours / HTTP floor | ours / min |"]
    out[-1] += " p99 ms |"
    out.append("|---|---:|---:|---:|---:|---:|")
    for endpoint in report["settings"]["endpoints"]:
        db = rps(find(rows, "db-floor", endpoint, None))
        for count in workers:
            ours = find(rows, "ours-pg", endpoint, count)
            http = rps(find(rows, "http-floor", "hello", count))
            floor = min((x for x in (db, http) if x), default=None)
            p99 = "-" if ours is None else lib.sig(ours["p99_ms"])
            cells = [endpoint, count, ratio(rps(ours), db), ratio(rps(ours), http)]
            out.append(line([*cells, ratio(rps(ours), floor), p99]))
    out += scaling(rows, workers) + embedded(rows)
    return "\n".join(out)


def scaling(rows: list[dict[str, Any]], workers: list[int]) -> list[str]:
    if len(workers) < 2:
        return []
    low, high = workers[0], workers[1]
    out = ["", f"| target | endpoint | req/s, {high} workers / {low} |", "|---|---|---:|"]
    for target, endpoint in [("http-floor", "hello")] + [
        ("ours-pg", e) for e in ("performance", "top", "anomalies")
    ]:
        more, fewer = find(rows, target, endpoint, high), find(rows, target, endpoint, low)
        both = ratio(rps(more), rps(fewer))
        if both is not None:
            out.append(f"| {target} | {endpoint} | {both} |")
    return out


def embedded(rows: list[dict[str, Any]]) -> list[str]:
    floor = rps(find(rows, "embedded-http-floor", "hello", 1))
    if floor is None:
        return []
    out = ["", "| embedded endpoint | req/s | / HTTP floor | p50 ms | p99 ms |"]
    out.append("|---|---:|---:|---:|---:|")
    for endpoint in ("health", "performance", "top", "anomalies"):
        row = find(rows, "embedded", endpoint, 1)
        if row is not None:
            cells = [endpoint, lib.fmt(row["rps"]), ratio(row["rps"], floor)]
            cells += [lib.sig(row["p50_ms"]), lib.sig(row["p99_ms"])]
            out.append(line(cells))
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", help="the loaded data directory")
    parser.add_argument("--pg-url", help="the loaded PostgreSQL database (postgresql+psycopg://…)")
    parser.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--workers", type=api.csv_ints, default=[1, 2])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--embedded-connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds, per endpoint")
    parser.add_argument("--threads", type=int, default=2, help="wrk/pgbench threads at most")
    parser.add_argument("--log-level", default="info", help="LOG_LEVEL of every app")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("cold", "warm"), default="cold")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s runs, dropped")
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.only.split(",") if t.strip()]
    if set(args.targets) - set(TARGETS):
        parser.error(f"targets: {', '.join(TARGETS)}")
    if any("=" not in pair for pair in args.server_env):
        parser.error("--server-env takes NAME=VALUE")
    if args.smoke:
        args.out_dir = lib.OUT_DIR / "smoke"
        args.data_dir = args.data_dir or args.out_dir / "data"
        args.duration, args.warmup = 1, 1
    if args.data_dir is None:
        parser.error("DATA_DIR is required (unless --smoke)")
    if {"db-floor", "ours-pg"} & set(args.targets) and not (args.pg_url or args.smoke):
        parser.error("--pg-url is required for db-floor and ours-pg")
    return args


def measure(args: argparse.Namespace, scratch: Path, stack: ExitStack) -> dict[str, Any]:
    ctx = api_context(args, args.data_dir.resolve(), scratch, args.connections)
    rows: list[dict[str, Any]] = []
    if "ours-pg" in args.targets:
        threshold = stack.enter_context(api.thresholds_server(ctx))
        ctx.thresholds_url = threshold.base_url
    for target in args.targets:
        print(f"[{target}]", file=sys.stderr, flush=True)
        if target == "embedded":
            small = api_context(args, EMBEDDED_DATA, scratch, args.embedded_connections)
            rows += run_embedded(small)
        elif target == "db-floor":
            rows += run_db_floor(ctx)
        else:
            for workers in args.workers:
                runner = run_http_floor if target == "http-floor" else run_ours_pg
                rows += runner(ctx, workers)
    return {
        "scale": ctx.scale,
        "rows": ctx.rows,
        "mode": args.mode,
        "machine": lib.machine_info(),
        "settings": {
            "workers": args.workers,
            "connections": args.connections,
            "embedded_connections": args.embedded_connections,
            "duration": args.duration,
            "warmup": args.warmup,
            "endpoints": ctx.endpoints,
            "server_env": sorted(pair.split("=", 1)[0] for pair in args.server_env),
        },
        "results": rows,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        if args.smoke:
            lib.run_checked([sys.executable, str(lib.BENCH_DIR / "generate.py"), "--smoke"])
            name = lib.db_name("serving", "smoke")
            args.pg_url = lib.sqlalchemy_url(name)
            stack.enter_context(lib.temporary_database(name))
            analytics = lib.venv_tool("analytics")
            lib.run_checked([analytics, "migrate", "--database-url", args.pg_url])
            lib.run_checked([analytics, "load", str(args.data_dir), "--database-url", args.pg_url])
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        report = measure(args, Path(scratch), stack) | {"started_at": started}
    path = args.out_dir / f"serving-{report['scale']}-{args.mode}.json"
    lib.write_json(path, report)
    print(f"\n### Serving, {report['scale']} rows, {args.mode}, {args.duration} s per run\n")
    print(tables(report))
    print(f"\n(results: {path})")
    failed = [r for r in report["results"] if not r.get("ok")]
    if failed:
        raise SystemExit(f"{len(failed)} measurements failed (see {path})")


if __name__ == "__main__":
    main()
