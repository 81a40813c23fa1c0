"""In-process cost of one request through the app (no HTTP server, no network): a cache
hit against the same request with the cache off (cold), and the parts of a hit.

    python bench/cache_overhead.py [--requests 2000] [--path /campaigns/cmp-001/performance]

Serves data/visible on DATABASE_URL if set (a migrated PostgreSQL), else the embedded
DuckDB; the result cache and rate limits in Redis when REDIS_URL is set. Rate limits are
off unless --rate-limits: then every request is also counted (and never refused).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from analytics.api.app import close_app, create_app
from analytics.settings import Settings

VISIBLE = Path(__file__).resolve().parent.parent / "data" / "visible"


async def _request(app, path: str, query: bytes) -> int:
    status = 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def _measure(app, path: str, query: bytes, requests: int) -> list[float]:
    assert await _request(app, path, query) == 200  # warm: the entry is stored
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        await _request(app, path, query)
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def _summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"{name:<28} median {statistics.median(ordered):8.0f} µs   p99 {p99:8.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--path", default="/campaigns/cmp-001/performance")
    parser.add_argument("--query", default="")
    parser.add_argument("--rate-limits", action="store_true")
    arguments = parser.parse_args()
    database = os.environ.get("DATABASE_URL")
    for cache in (False, True):
        settings = Settings(
            data_dir=VISIBLE,
            database_url=database,
            benchmark_fixtures_file=VISIBLE / "benchmarks.json",
            cache_enabled=cache,
            rate_limits_enabled=arguments.rate_limits,
            rate_limit_anonymous="100000000/hour",  # counted, never refused
            scheduler_enabled=False,
        )
        app = create_app(settings)
        try:
            timings = asyncio.run(
                _measure(app, arguments.path, arguments.query.encode(), arguments.requests)
            )
        finally:
            close_app(app)
        print(_summary("cache hit" if cache else "cold (cache off)", timings))


if __name__ == "__main__":
    main()
