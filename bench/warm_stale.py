"""bench/warm.py's stale target: a real load during a warm run, every answer checked.

Three generated datasets (same campaigns, different seeds: every answer differs) go into
tenant `default` of a `bench_warm_stale` database, one after the other. For each cache
configuration (in process with 1 worker, then Redis with the largest worker count): the
warm server is filled, wrk loads it, `stale_check.Checker` asks twelve fixed URLs (four
campaigns, three endpoints), and `analytics load` publishes the next dataset. The truth
before and after comes from a second server with the cache off, on the same database.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import api
import benchlib as lib
import stale_check

CHECKED_CAMPAIGNS = 4
SEEDS = (101, 202, 303)


def generate(args: argparse.Namespace, scratch: Path) -> list[Path]:
    out = []
    for seed in SEEDS:
        directory = scratch / f"stale-{seed}"
        command = [sys.executable, str(lib.BENCH_DIR / "generate.py"), str(directory)]
        command += ["--rows", str(args.stale_rows), "--campaigns", "60", "--creators", "400"]
        lib.run_checked([*command, "--days", "60", "--seed", str(seed)])
        out.append(directory)
    return out


def load(url: str, data_dir: Path) -> float:
    started = time.monotonic()
    lib.run_checked([lib.venv_tool("analytics"), "load", str(data_dir), "--database-url", url])
    return time.monotonic() - started


def server(ctx: Any, name: str, url: str, workers: int, **env: str) -> lib.Server:
    ctx.args.workers = workers
    saved, ctx.env = ctx.env, dict(ctx.env, **env)
    try:
        return api.service(ctx, name, url)
    finally:
        ctx.env = saved


def one_check(
    ctx: Any, url: str, truth: lib.Server, warm: lib.Server, next_data: Path
) -> dict[str, Any]:
    """wrk and the checker on the warm server, the next dataset loaded, answers counted."""
    import warm as warm_bench

    ids = [quote(i, safe="") for i in ctx.ids[:CHECKED_CAMPAIGNS]]
    paths = [t.replace("{id}", i) for _, t in api.ours_endpoints(ctx) for i in ids]
    old = stale_check.truths(truth.base_url, paths)
    prefill = [warm_bench.prefill(ctx, warm, t) for _, t in api.ours_endpoints(ctx)]
    template = api.ENDPOINTS["performance"][0]
    seconds = ctx.args.stale_seconds
    load_run: dict[str, Any] = {}
    background = threading.Thread(
        target=lambda: load_run.update(
            api.wrk(ctx, warm.base_url, template, max(ctx.connections), seconds)
        ),
        daemon=True,
    )
    checker = stale_check.Checker(warm.base_url, paths)
    watch = stale_check.CommitWatch(ctx.pg_libpq_url())
    wrk_started = time.monotonic()
    background.start()
    checker.start()
    time.sleep(3)
    watch.start()
    load_seconds = load(url, next_data)
    window = watch.wait(timeout=30)
    background.join(timeout=seconds + 60)
    checker.stop()
    new = stale_check.truths(truth.base_url, paths)
    counted = stale_check.count_stale(checker.answers, window, old, new)
    row = {"load_seconds": round(load_seconds, 2), "checked_urls": len(paths)}
    # the commit must fall inside wrk's run for the run to be "a load during a warm run"
    row["commit_after_wrk_start_s"] = round(window[1] - wrk_started, 2)
    row["wrk_seconds"] = seconds
    row |= {"prefill_hit_share": prefill, "checker_errors": len(checker.errors)}
    row |= counted | {"load_average": [round(x, 2) for x in os.getloadavg()]}
    if load_run.get("ok"):
        hits = load_run["wrk"].get("cache_hits", 0)
        row["wrk"] = {k: load_run[k] for k in ("rps", "p50_ms", "p99_ms", "errors")}
        row["wrk"]["hit_share"] = round(hits / load_run["requests"], 4)
    return row


def run(args: argparse.Namespace, scratch: Path, context: Callable[..., Any]) -> list[dict]:
    datasets = generate(args, scratch)
    name = lib.db_name("warm", "stale")
    url = lib.sqlalchemy_url(name)
    results = []
    with lib.temporary_database(name):
        lib.run_checked([lib.venv_tool("analytics"), "migrate", "--database-url", url])
        load(url, datasets[0])
        ctx = context(args, datasets[0], scratch, args.connections)
        ctx.pg_url = url
        ctx.args.stale_seconds = args.stale_seconds
        redis = {"REDIS_URL": args.redis_url}
        configs = [("in-process", 1, {}), ("redis", max(args.workers), redis)]
        for (cache, workers, env), next_data in zip(configs, datasets[1:], strict=True):
            print(f"[stale {cache} w{workers}]", file=sys.stderr, flush=True)
            if env:
                import warm as warm_bench

                warm_bench.flush_redis(args.redis_url)
            truth = server(ctx, "stale-truth", url, 1, CACHE_ENABLED="false")
            cached = server(ctx, f"stale-{cache}", url, workers, **env)
            with truth, cached:
                row = one_check(ctx, url, truth, cached, next_data)
            results.append({"cache": cache, "workers": workers} | row)
            print(f"  stale {cache} w{workers}: {row}", file=sys.stderr, flush=True)
    return results
