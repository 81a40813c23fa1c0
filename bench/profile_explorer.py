"""Profile `GET /metrics` in process with pyinstrument (BENCHMARKS.md, "Metrics explorer at
20M rows"): the two common questions of bench/explorer.py, through the ASGI app (no network,
no uvicorn, result cache and rate limits off: every request is cold).

    python bench/profile_explorer.py --database-url URL --tenant big [--requests 100] [--tree]

Prints wall and CPU time per request (sequential, one client), and with `--tree` the
pyinstrument call tree of each question.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
from pyinstrument import Profiler

from analytics.api.app import create_app
from analytics.settings import Settings

QUARTERS = ("01-01&date_to=2025-03-31", "04-01&date_to=2025-06-30")
QUARTERS += ("07-01&date_to=2025-09-30", "10-01&date_to=2025-12-31")
QUESTIONS = {
    "a_quarter_daily_by_platform": [
        f"/metrics?date_from=2025-{q}&granularity=day&group_by=platform&limit=1000"
        for q in QUARTERS
    ],
    "b_year_monthly_by_region_device": [
        "/metrics?date_from=2025-01-01&date_to=2025-12-31&granularity=month"
        "&group_by=region,device_type&limit=1000"
    ],
}


async def profile(database_url: str, tenant: str, requests: int, tree: bool) -> None:
    settings = Settings(
        database_url=database_url,
        anonymous_tenant=tenant,
        cache_enabled=False,
        rate_limits_enabled=False,
        scheduler_enabled=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, paths in QUESTIONS.items():
                for path in paths:  # warm: connections, prepared statements
                    (await client.get(path)).raise_for_status()
                profiler = Profiler(async_mode="enabled")
                wall, cpu = time.perf_counter(), time.process_time()
                if tree:
                    profiler.start()
                for index in range(requests):
                    response = await client.get(paths[index % len(paths)])
                    response.raise_for_status()
                if tree:
                    profiler.stop()
                wall_ms = (time.perf_counter() - wall) / requests * 1000
                cpu_ms = (time.process_time() - cpu) / requests * 1000
                size = len(response.content)
                print(f"## {name}: {wall_ms:.2f} ms wall, {cpu_ms:.2f} ms CPU a request ({size} B)")
                if tree:
                    print(profiler.output_text(unicode=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--tenant", default="big")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tree", action="store_true", help="print pyinstrument's call tree")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    asyncio.run(profile(args.database_url, args.tenant, args.requests, args.tree))


if __name__ == "__main__":
    main()
