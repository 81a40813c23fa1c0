"""Several `analytics scheduler` processes against one PostgreSQL database: each due run
happens once (real processes, a real database), and `analytics jobs` runs and lists."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine

from analytics.adapters import migrations
from analytics.adapters.sql_job_runs import SqlAlchemyJobLedger
from tests.conftest import new_postgres_database
from tests.support import VISIBLE_DATA


def _environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(VISIBLE_DATA),
        "BENCHMARK_FIXTURES_FILE": str(VISIBLE_DATA / "benchmarks.json"),
        "SCHEDULE_HEARTBEAT": "*/2 * * * * *",  # every 2 seconds (6 fields: seconds first)
        "SCHEDULE_ANOMALY_SCAN": "0 0 1 1 *",
        "SCHEDULER_POLL_SECONDS": "1",
        "LOG_FORMAT": "text",  # the lines are read below
    }


def _analytics(*args: str) -> list[str]:
    return [sys.executable, "-m", "analytics", *args]


def test_two_scheduler_processes_run_each_due_heartbeat_once() -> None:
    url, drop = new_postgres_database()
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
        environment = _environment(url)
        processes = [
            subprocess.Popen(
                _analytics("scheduler"),
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        ledger = SqlAlchemyJobLedger(engine, stale_after=dt.timedelta(minutes=5))
        deadline = time.monotonic() + 90  # both processes start slowly on a busy machine
        while time.monotonic() < deadline:
            done = [r for r in ledger.runs("heartbeat") if r.status == "succeeded"]
            if len(done) >= 3:
                break
            time.sleep(0.5)
        outputs = []
        for process in processes:
            process.send_signal(signal.SIGTERM)
            outputs.append(process.communicate(timeout=20)[1])
        runs = [r for r in ledger.runs("heartbeat") if r.due_at is not None]
        succeeded = [r for r in runs if r.status == "succeeded"]
        lines = [line for out in outputs for line in out.splitlines() if " heartbeat utc=" in line]
        assert len(succeeded) >= 3, outputs
        assert len({r.due_at for r in runs}) == len(runs)  # one run per due time
        # each due run executed by exactly one process: one log line per run, no more
        assert sorted(line.rsplit("run=", 1)[1] for line in lines) == sorted(
            r.run_id for r in succeeded
        )

        listed = subprocess.run(
            _analytics("jobs", "list"), env=environment, capture_output=True, text=True, check=True
        )
        assert "heartbeat" in listed.stdout
        assert "anomaly_scan" in listed.stdout
        ran = subprocess.run(
            _analytics("jobs", "run", "anomaly_scan"),
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("anomaly_scan succeeded")
    finally:
        engine.dispose()
        drop()
