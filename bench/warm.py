"""Serving at scale, warm path: the service with its result cache, against the HTTP floor.

    python bench/warm.py DATA_DIR --pg-url URL [--workers 1,2] [--duration 6] [--warmup 2]
                         [--campaigns 300] [--redis-url redis://127.0.0.1:6379/12]
                         [--only pg,embedded,stale] [--stale-rows 20000] [--rate-limit RATE]

pg        per worker count of `--workers`, at `--connections` (16): the hello-world floor,
          then `analytics serve` on the loaded PostgreSQL database with the cache in process
          and with `REDIS_URL` (database flushed first), for the three Part I endpoints
embedded  what `make run` serves (DATA_DIR=data/visible, DuckDB in memory), cache off (cold)
          and on (warm), next to the hello-world floor, at `--embedded-connections` (32)
stale     a warm run (wrk on the performance endpoint) during which `analytics load`
          publishes a different generated dataset into the same tenant of a `bench_warm_stale`
          database, while `stale_check.Checker` asks fixed campaigns and counts the answers
          that do not match the data current when they were asked (must be 0); once with the
          cache in process and 1 worker, once with Redis and the largest worker count

Every server runs with RATE_LIMITS_ENABLED=false (`--rate-limit RATE`: on, with that anonymous
quota, to measure what counting costs a hit) and the fixture thresholds
(BENCHMARK_FIXTURES_FILE): anomalies whose thresholds came from the benchmark service are
never cached. Warm means: before wrk, every (endpoint, campaign) of the run is asked until a
whole pass is answered from the cache (new connections, so every worker fills its own), then
wrk's usual warm-up; wrk counts the answers whose `Cache-Status` says `hit`. wrk picks among
the first `--campaigns` campaigns. Results: bench/out/warm-<scale>.json; Markdown on stdout.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api
import benchlib as lib
import serving
import stale_check
import warm_report
import warm_stale

TARGETS = ("pg", "embedded", "stale")
NO_LIMITS = "RATE_LIMITS_ENABLED=false"


def context(args: argparse.Namespace, data_dir: Path, scratch: Path, conns: int) -> Any:
    """`serving.api_context` limited to the run's campaigns, with the fixture thresholds."""
    ctx = serving.api_context(args, data_dir, scratch, conns)
    ctx.ids = ctx.ids[: args.campaigns]
    ctx.ids_file.write_text("".join(quote(i, safe="") + "\n" for i in ctx.ids))
    ctx.env["BENCHMARK_FIXTURES_FILE"] = str(data_dir / "benchmarks.json")
    return ctx


def prefill(ctx: Any, server: lib.Server, template: str, max_passes: int = 8) -> float:
    """Ask every campaign until one whole pass is served from the cache; its hit share."""
    paths = [template.replace("{id}", quote(i, safe="")) for i in ctx.ids]
    share = 0.0
    with stale_check.fresh_client() as client:

        def cached(path: str) -> bool:
            answer = client.get(server.base_url + path)
            return "; hit" in answer.headers.get("cache-status", "")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for _ in range(max_passes):
                share = sum(pool.map(cached, paths)) / len(paths)
                if share >= 0.999:
                    break
    return share


def measure_warm(ctx: Any, target: str, server: lib.Server, workers: int) -> list[dict]:
    rows = []
    for endpoint, template in api.ours_endpoints(ctx):
        share = prefill(ctx, server, template)
        for row in api.measure_http(ctx, target, server, [(endpoint, template)]):
            rows.append(with_hits(row) | {"workers": workers, "prefill_hit_share": share})
    return rows


def with_hits(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("ok") and row.get("requests"):
        row["hit_share"] = round(row["wrk"].get("cache_hits", 0) / row["requests"], 4)
    return row


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    client.flushdb()
    client.close()


def run_pg(args: argparse.Namespace, scratch: Path) -> list[dict]:
    rows: list[dict] = []
    for workers in args.workers:
        ctx = context(args, args.data_dir.resolve(), scratch, args.connections)
        ctx.args.workers = workers
        rows += serving.run_http_floor(ctx, workers)
        for cache, extra in (("in-process", {}), ("redis", {"REDIS_URL": args.redis_url})):
            if extra:
                flush_redis(args.redis_url)
            ctx.env |= extra
            print(f"[ours-pg {cache} w{workers}]", file=sys.stderr, flush=True)
            with api.service(ctx, f"warm-{cache}-w{workers}", args.pg_url) as server:
                rows += measure_warm(ctx, f"ours-pg-{cache}", server, workers)
            for name in extra:
                ctx.env.pop(name)
    return rows


def run_embedded(args: argparse.Namespace, scratch: Path) -> list[dict]:
    ctx = context(args, serving.EMBEDDED_DATA, scratch, args.embedded_connections)
    ctx.args.workers = 1
    rows = list(serving.run_http_floor(ctx, 1))
    rows = [row | {"target": "embedded-http-floor"} for row in rows]
    for mode, cache in (("cold", "false"), ("warm", "true")):
        port = lib.free_port()
        command = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port)]
        env = dict(ctx.env, DATA_DIR=str(serving.EMBEDDED_DATA), CACHE_ENABLED=cache)
        with lib.Server(f"embedded-{mode}", command, port, env=env) as server:
            target = f"embedded-{mode}"
            rows += serving.tagged(
                api.measure_http(ctx, target, server, [serving.HEALTH]), workers=1
            )
            if mode == "cold":
                measured = api.measure_http(ctx, target, server, api.ours_endpoints(ctx))
                rows += serving.tagged(measured, workers=1)
            else:
                rows += measure_warm(ctx, target, server, 1)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="the data directory loaded at --pg-url")
    parser.add_argument("--pg-url", required=True, help="postgresql+psycopg://… (loaded)")
    parser.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--workers", type=api.csv_ints, default=[1, 2])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--embedded-connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=6, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk, per endpoint")
    parser.add_argument("--campaigns", type=int, default=300, help="campaigns wrk picks from")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--stale-rows", type=int, default=20_000)
    parser.add_argument("--stale-seconds", type=int, default=30, help="wrk's run around the load")
    parser.add_argument(
        "--rate-limit",
        metavar="RATE",
        help="rate limits on, anonymous quota RATE (e.g. 10000000/minute)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads at most")
    parser.add_argument("--log-level", default="warning", help="LOG_LEVEL of every app")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.only.split(",") if t.strip()]
    if set(args.targets) - set(TARGETS):
        parser.error(f"targets: {', '.join(TARGETS)}")
    # serving.api_context strips every cache and rate-limit variable, then adds these
    args.server_env = [NO_LIMITS]
    if args.rate_limit:
        args.server_env = ["RATE_LIMITS_ENABLED=true", f"RATE_LIMIT_ANONYMOUS={args.rate_limit}"]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rows: list[dict] = []
    stale: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as scratch:
        if "pg" in args.targets:
            rows += run_pg(args, Path(scratch))
        if "embedded" in args.targets:
            rows += run_embedded(args, Path(scratch))
        if "stale" in args.targets:
            stale = warm_stale.run(args, Path(scratch), context)
    rows_count = lib.count_metric_rows(args.data_dir)
    report = {
        "scale": lib.scale_label(rows_count),
        "rows": rows_count,
        "started_at": started,
        "machine": lib.machine_info(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out_dir", "data_dir")},
        "results": rows,
        "stale_checks": stale,
    }
    path = args.out_dir / f"warm-{report['scale']}.json"
    lib.write_json(path, report)
    print(f"\n### Serving, warm path, {report['scale']} rows, {args.duration} s per run\n")
    print(warm_report.tables(report))
    print(f"\n(results: {path})")
    if any(not row.get("ok") for row in rows) or any(s["stale"] or s["wrong"] for s in stale):
        raise SystemExit(f"failed measurements or stale answers (see {path})")


if __name__ == "__main__":
    main()
