"""The job-run ledger: one row per run of a scheduled job, claimed once per due time.

Global (no tenant's data: a run's per-tenant detail lives in `job_run_tenants`), written by
the database owner as the load ledger is. Blocking; the scheduler calls it in a thread.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from analytics.adapters import schema
from analytics.domain.jobs import ABANDONED, RUNNING, JobRun

_runs = schema.job_runs


def ordered_id() -> str:
    """32 hex digits that sort by creation time (microseconds, then a counter), then random:
    ids made in one batch keep the batch's order in a feed."""
    global _sequence
    _sequence = (_sequence + 1) % 0x1000000
    micros = int(time.time() * 1_000_000)
    return f"{micros:014x}{_sequence:06x}{secrets.token_hex(6)}"


_sequence = 0


class Claim(Enum):
    TAKEN = "taken"  # that due time has its run already (here or in another process)
    BUSY = "busy"  # another run of the job is still running: try again later


class SqlAlchemyJobLedger:
    def __init__(self, engine: Engine, *, stale_after: dt.timedelta) -> None:
        self._engine = engine
        self._stale_after = stale_after

    def claim(self, job: str, due_at: dt.datetime | None, now: dt.datetime) -> str | Claim:
        """A new running run of `job` for `due_at` (None: started by hand), or why not.

        Exactly once per (job, due time) whatever the number of processes: the unique key
        decides. At most one run of a job runs at a time (on PostgreSQL a partial unique
        index decides); a run whose process stopped refreshing it is marked abandoned."""
        run_id = ordered_id()
        try:
            with self._engine.begin() as connection:
                _abandon(
                    connection, now, _runs.c.job == job, _runs.c.alive_at < now - self._stale_after
                )
                if due_at is not None:
                    taken = select(_runs.c.run_id).where(
                        _runs.c.job == job, _runs.c.due_at == due_at
                    )
                    if connection.execute(taken).first() is not None:
                        return Claim.TAKEN
                running = select(_runs.c.run_id).where(
                    _runs.c.job == job, _runs.c.status == RUNNING
                )
                if connection.execute(running).first() is not None:
                    return Claim.BUSY
                connection.execute(
                    insert(_runs).values(
                        run_id=run_id,
                        job=job,
                        due_at=due_at,
                        started_at=now,
                        alive_at=now,
                        status=RUNNING,
                        detail="{}",
                    )
                )
        except IntegrityError:  # another process claimed it between our check and insert
            return Claim.TAKEN
        return run_id

    def sweep(self, now: dt.datetime, *, every_running: bool = False) -> int:
        """Mark abandoned every running run whose process stopped refreshing it (killed,
        crashed, cut off) - or every running run, where no other process can be running one
        (the embedded engine's file has a single writer): how many."""
        stale = [] if every_running else [_runs.c.alive_at < now - self._stale_after]
        with self._engine.begin() as connection:
            return _abandon(connection, now, *stale)

    def keep_alive(self, run_id: str, now: dt.datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(update(_runs).where(_runs.c.run_id == run_id).values(alive_at=now))

    def finish(self, run_id: str, status: str, detail: dict[str, Any], now: dt.datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(_runs)
                .where(_runs.c.run_id == run_id)
                .values(status=status, detail=json.dumps(detail), finished_at=now, alive_at=now)
            )

    def last_due(self, job: str) -> dt.datetime | None:
        """The newest due time `job` has a run for."""
        with self._engine.connect() as connection:
            return connection.execute(
                select(func.max(_runs.c.due_at)).where(_runs.c.job == job)
            ).scalar()

    def latest_run(self, job: str) -> JobRun | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_runs)
                .where(_runs.c.job == job)
                .order_by(_runs.c.started_at.desc(), _runs.c.run_id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return JobRun(
            run_id=row.run_id,
            job=row.job,
            due_at=row.due_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=row.status,
            detail=json.loads(row.detail),
        )

    def runs(self, job: str | None = None) -> list[JobRun]:
        """Every run (of `job`), oldest first: for tests and operators."""
        statement = select(_runs).order_by(_runs.c.started_at, _runs.c.run_id)
        if job is not None:
            statement = statement.where(_runs.c.job == job)
        with self._engine.connect() as connection:
            rows = list(connection.execute(statement))
        return [
            JobRun(
                r.run_id,
                r.job,
                r.due_at,
                r.started_at,
                r.finished_at,
                r.status,
                json.loads(r.detail),
            )
            for r in rows
        ]


def _abandon(connection: Connection, now: dt.datetime, *conditions: Any) -> int:
    """Running runs matching `conditions` → abandoned, their detail saying why and since when
    nothing was heard of them."""
    found = connection.execute(
        select(_runs.c.run_id, _runs.c.alive_at).where(_runs.c.status == RUNNING, *conditions)
    ).all()
    for run_id, alive_at in found:
        last = alive_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        detail = {"error": f"abandoned: its process stopped during the run (last alive {last})"}
        connection.execute(
            update(_runs)
            .where(_runs.c.run_id == run_id, _runs.c.status == RUNNING)
            .values(status=ABANDONED, finished_at=now, detail=json.dumps(detail))
        )
    return len(found)
