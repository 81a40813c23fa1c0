"""Profile the service's handlers in-process with pyinstrument (BENCHMARKS.md, "profiled").

    python bench/profile_api.py DATA_DIR --database-url URL [--requests 300]

Serves the already loaded database through the ASGI app (no network, no uvicorn), asks
random campaigns of DATA_DIR for each endpoint, and prints the time per request and the
pyinstrument call tree. Thresholds come from DATA_DIR/benchmarks.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from pyinstrument import Profiler

from analytics.api.app import create_app
from analytics.settings import Settings

PATHS = {
    "performance": "/campaigns/{id}/performance",
    "top": "/creators/top?campaign_id={id}&limit=10",
    "anomalies": "/campaigns/{id}/anomalies",
}


async def profile(data_dir: Path, database_url: str, requests: int) -> None:
    settings = Settings(
        database_url=database_url, benchmark_fixtures_file=data_dir / "benchmarks.json"
    )
    app = create_app(settings)
    lines = (data_dir / "campaigns.csv").read_text(encoding="utf-8").splitlines()[1:]
    ids = [line.split(",")[0] for line in lines]
    rng = random.Random(7)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, path in PATHS.items():
                profiler = Profiler(async_mode="enabled")
                started = time.perf_counter()
                with profiler:
                    for _ in range(requests):
                        url = path.format(id=quote(rng.choice(ids), safe=""))
                        response = await client.get(url)
                        response.raise_for_status()
                per_request = (time.perf_counter() - started) / requests * 1000
                print(f"\n## {name}: {per_request:.2f} ms per request\n")
                print(profiler.output_text(unicode=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    asyncio.run(profile(args.data_dir, args.database_url, args.requests))


if __name__ == "__main__":
    main()
