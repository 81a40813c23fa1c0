"""While the anomaly scan works through a large tenant, the API in the same process keeps
answering: the scan's database and rule work runs off the event loop, in bounded batches."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import httpx
import pytest

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import DataDir


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Both engines; on PostgreSQL a database of this module's own, so that each scan walks
    the tenants of these tests only."""
    return None if request.param == "duckdb" else request.getfixturevalue("module_postgres_url")


CAMPAIGNS = 300
DAYS = 50
# A scan that held requests up would make most of them wait about as long as its batches;
# one stall of the shared 2-core CI machine (seen once: 1.9 s for one request of 82) is not
# that. So: nine in ten requests within 0.25 s, and none beyond 3 s.
TYPICAL_SECONDS = 0.25
BOUND_SECONDS = 3.0


def large_tenant(directory: Path) -> Path:
    campaigns = [f"cmp-{n:04d}" for n in range(CAMPAIGNS)]
    start = dt.date(2026, 1, 1)
    metrics = [
        (
            (start + dt.timedelta(days=d)).isoformat(),
            c,
            "crt-1",
            2000 + d,
            40 + d % 7,
            d % 3,
            "50.00",
            "130.00",
        )
        for c in campaigns
        for d in range(DAYS)
    ]
    data = DataDir(
        campaigns=[(c, c) for c in campaigns], creators=[("crt-1", "C")], metrics=metrics
    )
    path = data.write(directory)
    thresholds = {c: {"min_ctr": 0.03, "min_roas": 2.5} for c in campaigns}
    (path / "benchmarks.json").write_text(json.dumps(thresholds), encoding="utf-8")
    return path


def test_requests_keep_answering_within_a_bound_while_a_scan_runs(
    tmp_path: Path, database_url: str | None
) -> None:
    directory = large_tenant(tmp_path / "large")
    app = create_app(
        Settings(
            data_dir=directory,
            database_url=database_url,
            anonymous_tenant=f"large-{time.monotonic_ns() % 10**9}",
            benchmark_fixtures_file=directory / "benchmarks.json",
            scan_batch_size=20,
            scan_pause_factor=0,  # unpaced: the harder case, and a shorter test
        )
    )

    async def scenario() -> tuple[list[float], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            scan = asyncio.create_task(app.state.scheduler.run_now("anomaly_scan"))
            started = time.perf_counter()
            latencies = []
            while not scan.done():
                before = time.perf_counter()
                answer = await client.get("/campaigns/cmp-0001/performance")
                latencies.append(time.perf_counter() - before)
                assert answer.status_code == 200
                await asyncio.sleep(0.005)
            run = await scan
            assert run.status in {"succeeded", "partial"}  # partial: other tests' tenants
            return latencies, time.perf_counter() - started

    latencies, scan_seconds = asyncio.run(scenario())
    print(f"scan {scan_seconds:.2f} s, {len(latencies)} requests, max {max(latencies):.3f} s")
    assert len(latencies) >= 10, f"the scan took {scan_seconds:.2f} s: too short to overlap"
    typical = sorted(latencies)[int(len(latencies) * 0.9)]
    assert typical < TYPICAL_SECONDS, (typical, scan_seconds, len(latencies))
    assert max(latencies) < BOUND_SECONDS, (max(latencies), scan_seconds, len(latencies))
