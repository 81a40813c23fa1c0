"""A scheduler process killed (SIGKILL) in the middle of a run, on PostgreSQL, with real
processes: the run is marked abandoned, with why, once its process has stopped refreshing
it; the next due run happens as usual in another process."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine

from analytics.adapters import migrations, schema
from analytics.adapters.scheduled_jobs import heartbeat
from analytics.adapters.scheduler import JobScheduler, ScheduledJob
from analytics.adapters.sql_job_runs import SqlAlchemyJobLedger
from analytics.domain.jobs import JobRun
from tests.conftest import new_postgres_database
from tests.integration.benchmark_server import BenchmarkServer, thresholds_reply
from tests.support import VISIBLE_DATA

STALE_SECONDS = 3


def _environment(url: str, benchmark: BenchmarkServer) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(VISIBLE_DATA),
        "BENCHMARK_API_BASE": benchmark.base_url,
        "BENCHMARK_READ_TIMEOUT": "60",
        "BENCHMARK_TIME_BUDGET": "60",
        "BENCHMARK_MAX_ATTEMPTS": "1",
        "SCHEDULE_HEARTBEAT": "0 0 1 1 *",
        "SCHEDULE_ANOMALY_SCAN": "*/2 * * * * *",  # every 2 seconds (seconds first)
        "SCHEDULER_POLL_SECONDS": "0.5",
        "SCHEDULER_STALE_RUN_SECONDS": str(STALE_SECONDS),
    }


def _scheduler(environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "analytics", "scheduler"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(
    ledger: SqlAlchemyJobLedger, found: Callable[[list[JobRun]], bool], seconds: float
) -> list[JobRun]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = ledger.runs("anomaly_scan")
        if found(runs):
            return runs
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {ledger.runs('anomaly_scan')}")


def test_a_run_whose_process_was_killed_is_abandoned_and_the_next_due_run_happens(
    benchmark_server: BenchmarkServer,
) -> None:
    url, drop = new_postgres_database()
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
        ledger = SqlAlchemyJobLedger(engine, stale_after=dt.timedelta(seconds=STALE_SECONDS))
        environment = _environment(url, benchmark_server)
        benchmark_server.always(thresholds_reply(delay=30))  # the scan waits: it is mid-run
        first = _scheduler(environment)
        try:
            runs = _wait_for(ledger, lambda runs: any(r.status == "running" for r in runs), 90)
            time.sleep(0.5)  # well inside the run: it waits 30 s for thresholds
            first.send_signal(signal.SIGKILL)
        finally:
            first.kill()
            first.wait(timeout=30)
        (killed,) = [r for r in runs if r.status == "running"]
        killed_at = dt.datetime.now(dt.UTC)
        assert ledger.runs("anomaly_scan")[-1].status == "running"  # nobody says otherwise yet

        benchmark_server.always(thresholds_reply())
        second = _scheduler(environment)
        try:
            runs = _wait_for(
                ledger,
                lambda runs: (
                    any(r.status == "succeeded" for r in runs)
                    and all(r.status != "running" for r in runs if r.run_id == killed.run_id)
                ),
                90,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            log = second.communicate(timeout=30)[1]
        (abandoned,) = [r for r in ledger.runs("anomaly_scan") if r.run_id == killed.run_id]
        assert abandoned.status == "abandoned"
        assert abandoned.detail["error"].startswith("abandoned: its process stopped")
        assert abandoned.finished_at is not None
        # abandoned once its liveness ran out, not before
        assert abandoned.finished_at >= killed_at - dt.timedelta(seconds=1)
        assert "marked abandoned" in log
        later = [r for r in runs if r.due_at is not None and r.due_at > killed.due_at]
        assert [r.status for r in later][:1] == ["succeeded"]
        assert len({r.due_at for r in runs}) == len(runs)  # still one run per due time
    finally:
        engine.dispose()
        drop()


def test_on_a_single_writer_engine_a_run_left_running_is_abandoned_at_start(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"duckdb:///{tmp_path / 'jobs.duckdb'}")
    schema.metadata.create_all(engine)
    ledger = SqlAlchemyJobLedger(engine, stale_after=dt.timedelta(hours=1))
    now = dt.datetime.now(dt.UTC)
    left = ledger.claim("heartbeat", now, now)  # its process died: nothing will finish it
    assert isinstance(left, str)

    async def start(sole_runner: bool) -> None:
        jobs = [ScheduledJob("heartbeat", "0 0 1 1 *", heartbeat)]
        await JobScheduler(jobs, ledger, sole_runner=sole_runner).prime(now)

    asyncio.run(start(sole_runner=False))  # another process may be running it: untouched
    assert [r.status for r in ledger.runs()] == ["running"]
    asyncio.run(start(sole_runner=True))
    (run,) = ledger.runs()
    assert (run.run_id, run.status) == (left, "abandoned")
    assert run.detail["error"].startswith("abandoned: its process stopped")
    engine.dispose()
