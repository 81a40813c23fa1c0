"""The Prometheus listener of real `analytics serve` and `analytics scheduler` processes:
requests spread over two workers are all counted in one scrape, and the scheduler's job
runs are scraped from its own port."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import create_engine

from analytics.adapters import migrations
from tests.conftest import new_postgres_database
from tests.integration.served_process import (
    ServedProcess,
    analytics_script,
    clean_environment,
    free_port,
    served,
)
from tests.integration.telemetry_support import samples, value
from tests.support import VISIBLE_DATA

SERVE = [analytics_script(), "serve", "--port", "{port}"]
PERFORMANCE = "/campaigns/{campaign_id}/performance"
REQUESTS = "analytics_http_requests_total"
ROUNDS = 25  # of 8 concurrent requests, until both workers have answered some


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    return samples(answer.text)


def performance_requests_by_process(directory: Path) -> dict[int, float]:
    """Worker pid → the performance requests it counted, read from its own sample file."""
    counted = {}
    for file in directory.glob("counter_*.db"):
        pid = int(file.stem.removeprefix("counter_"))
        for metric in MultiProcessCollector.merge([str(file)], accumulate=True):
            for item in metric.samples:
                if item.name == REQUESTS and item.labels.get("route") == PERFORMANCE:
                    counted[pid] = counted.get(pid, 0.0) + item.value
    return counted


def fresh_connection_get(url: str) -> int:
    return httpx.get(url, timeout=10).status_code  # a connection of its own each time


def test_requests_spread_over_two_workers_are_counted_in_one_scrape(tmp_path: Path) -> None:
    directory, metrics_port = tmp_path / "samples", free_port()
    env = clean_environment(
        DATA_DIR=str(VISIBLE_DATA),
        DATABASE_URL=f"duckdb:///{tmp_path / 'analytics.duckdb'}",
        METRICS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )
    with served([*SERVE, "--workers", "2"], env) as server:
        started = "Started server process"
        server.wait_until(lambda: server.stderr.count(started) == 2, "two workers")
        url = f"http://127.0.0.1:{server.port}/campaigns/cmp-001/performance"
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(ROUNDS):
                assert set(pool.map(fresh_connection_get, [url] * 8)) == {200}
                sent += 8
                if len(performance_requests_by_process(directory)) >= 2:
                    break
        for number in range(3):
            assert server.get(f"/no/such/path/{number}").status_code == 404
        scraped = scrape(metrics_port)
        by_process = performance_requests_by_process(directory)

    labels = {"method": "GET", "route": PERFORMANCE, "status": "200"}
    assert len(by_process) == 2, by_process  # two workers answered...
    assert server.pid not in by_process  # ...neither of them the supervising process
    assert value(scraped, REQUESTS, **labels) == sent  # ...and one scrape counts them all
    histogram = "analytics_http_request_duration_seconds_count"
    assert value(scraped, histogram, **labels) == sent
    assert value(scraped, REQUESTS, method="GET", route="unmatched", status="404") == 3
    assert not [key for key in scraped if "/no/such/path" in repr(key)]
    assert value(scraped, "analytics_http_requests_in_flight") == 0
    assert value(scraped, "analytics_dataset_loads_total", outcome="published") == 1
    assert value(scraped, "analytics_dataset_load_rows_total") > 0
    assert value(scraped, "analytics_dataset_ledger_up") == 1
    assert 0 <= value(scraped, "analytics_dataset_age_seconds", tenant="default") < 600


def test_a_single_worker_serves_metrics_and_removes_its_sample_directory(
    tmp_path: Path,
) -> None:
    temporary, metrics_port = tmp_path / "tmp", free_port()
    temporary.mkdir()
    env = clean_environment(
        DATA_DIR=str(VISIBLE_DATA), METRICS_PORT=str(metrics_port), TMPDIR=str(temporary)
    )
    with served(SERVE, env) as server:
        assert server.get("/campaigns/cmp-002/performance").status_code == 200
        scraped = scrape(metrics_port)
        [directory] = list(temporary.iterdir())
        assert list(directory.glob("*.db"))

    labels = {"method": "GET", "route": PERFORMANCE, "status": "200"}
    assert value(scraped, REQUESTS, **labels) == 1
    assert value(scraped, "analytics_db_pool_size") >= 1
    assert value(scraped, "analytics_dataset_age_seconds", tenant="default") >= 0
    assert list(temporary.iterdir()) == []


def test_a_taken_metrics_port_is_a_configuration_error(tmp_path: Path) -> None:
    with served(SERVE, clean_environment(DATA_DIR=str(VISIBLE_DATA))) as first:
        env = clean_environment(DATA_DIR=str(VISIBLE_DATA), METRICS_PORT=str(first.port))
        done = subprocess.run(
            [analytics_script(), "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith("configuration error: METRICS_PORT: ")


def test_the_scheduler_exposes_its_job_runs() -> None:
    url, drop = new_postgres_database()
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    metrics_port = free_port()
    env = clean_environment(
        DATABASE_URL=url,
        SCHEDULER_METRICS_PORT=str(metrics_port),
        SCHEDULE_HEARTBEAT="* * * * * *",  # every second
        SCHEDULE_ANOMALY_SCAN="0 0 1 1 *",
        SCHEDULER_POLL_SECONDS="1",
    )
    process = ServedProcess([analytics_script(), "scheduler"], env, metrics_port)
    try:

        def two_heartbeats() -> bool:
            try:
                found = scrape(metrics_port)
            except httpx.TransportError:
                return False
            return value(found, "analytics_job_runs_total", **HEARTBEAT) >= 2

        process.wait_until(two_heartbeats, "two heartbeat runs scraped")
        scraped = scrape(metrics_port)
    finally:
        process.stop()
        drop()

    runs = value(scraped, "analytics_job_runs_total", **HEARTBEAT)
    assert value(scraped, "analytics_job_duration_seconds_count", **HEARTBEAT) == runs
    assert value(scraped, "analytics_job_runs_total", job="heartbeat", status="failed") == 0


HEARTBEAT = {"job": "heartbeat", "status": "succeeded"}
