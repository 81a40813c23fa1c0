"""The scheduler: jobs on cron expressions, each due run claimed once in the job-run ledger
whatever the number of scheduler processes (CONTRACT.md §9).

APScheduler's `AsyncIOScheduler` wakes `tick` at every job's cron times and every
`poll_seconds`; `tick` asks, for each job, for the latest due time not after now, claims it
in the ledger (a unique row per job and due time) and, when the claim is ours, runs the job
as a task of the event loop. Only the latest due time is ever claimed, so after downtime
(or an overrun) the missed runs coalesce into one. A job that raises is logged with its
traceback and recorded failed; the scheduler keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from analytics.adapters.sql_job_runs import Claim, SqlAlchemyJobLedger
from analytics.domain.jobs import ABANDONED, FAILED, JobRun
from analytics.telemetry.metrics import record_job_run

log = logging.getLogger(__name__)
JobWork = Callable[[str], Awaitable[tuple[str, dict[str, Any]]]]  # run id → (status, detail)
CATCH_UP_WINDOW = dt.timedelta(days=7)  # how far back a missed run is looked for


def cron_trigger(expression: str) -> CronTrigger:
    """A UTC cron trigger: 5 fields (minute hour day month weekday), or 6 with seconds
    first. ValueError when the expression is not one."""
    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone=dt.UTC)
    if len(fields) == 6:
        names = ("second", "minute", "hour", "day", "month", "day_of_week")
        return CronTrigger(**dict(zip(names, fields, strict=True)), timezone=dt.UTC)
    raise ValueError(f"'{expression}' is not a cron expression of 5 (or 6) fields")


def latest_due(trigger: CronTrigger, after: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The latest fire time of `trigger` in (after, now], None if there is none."""
    after = max(after, now - CATCH_UP_WINDOW)
    found, fire = None, trigger.get_next_fire_time(None, after + dt.timedelta(microseconds=1))
    while fire is not None and fire <= now:
        found = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
    return found


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    cron: str
    work: JobWork


class JobScheduler:
    """Runs the jobs on their schedules in this process's event loop; `tick(now)` and
    `run_now(name)` are also called directly (tests, `analytics jobs run`)."""

    def __init__(
        self,
        jobs: list[ScheduledJob],
        ledger: SqlAlchemyJobLedger,
        *,
        poll_seconds: float = 60.0,
        keep_alive_seconds: float = 30.0,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        sole_runner: bool = False,
    ) -> None:
        self.jobs = {job.name: job for job in jobs}
        self._triggers = {job.name: cron_trigger(job.cron) for job in jobs}
        self._ledger = ledger
        self._poll = poll_seconds
        self._keep_alive = keep_alive_seconds
        self._clock = clock
        self._sole_runner = sole_runner
        self._seen: dict[str, dt.datetime] = {}  # newest due time settled, per job
        self._running: dict[str, asyncio.Task[None]] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Start waking up in the running event loop. Due times before now that the ledger
        has no run for count as missed (one catch-up run); on a ledger without any run of a
        job, only due times from now on count."""
        now = self._clock()
        await self.prime(now)
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        for name, trigger in self._triggers.items():
            scheduler.add_job(self.tick, trigger, id=f"due:{name}", **options)
        scheduler.add_job(
            self.tick, IntervalTrigger(seconds=self._poll), id="poll", next_run_time=now, **options
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "scheduler started: %s", ", ".join(f"{j.name} '{j.cron}'" for j in self.jobs.values())
        )

    async def prime(self, now: dt.datetime) -> None:
        """Settle each job up to its newest run in the ledger, or up to `now` without one.
        Where this process is the only possible runner, a run still marked running was left
        by a process that died: it is abandoned now, not after its liveness runs out."""
        if self._sole_runner:
            await anyio.to_thread.run_sync(
                functools.partial(self._ledger.sweep, now, every_running=True)
            )
        for name in self.jobs:
            last = await anyio.to_thread.run_sync(self._ledger.last_due, name)
            self._seen[name] = last if last is not None else now

    async def shutdown(self) -> None:
        """Stop waking up; runs in progress are cancelled and recorded abandoned."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)

    @property
    def ledger(self) -> SqlAlchemyJobLedger:
        return self._ledger

    @property
    def started(self) -> bool:
        return self._scheduler is not None

    async def tick(self, now: dt.datetime | None = None) -> list[str]:
        """Claim and start every job whose latest due time is not settled yet; the run ids
        started."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            now = now or self._clock()
            await self._sweep(now)
            started = []
            for name, trigger in self._triggers.items():
                if name in self._running:
                    continue  # still running here: its due run waits, coalesced
                seen = self._seen.get(name, now)
                due = latest_due(trigger, seen, now)
                if due is None:
                    continue
                claim = await anyio.to_thread.run_sync(self._ledger.claim, name, due, now)
                if claim is Claim.BUSY:
                    continue  # running elsewhere: asked again at the next tick
                self._seen[name] = due
                if claim is not Claim.TAKEN:
                    started.append(self._launch(name, claim))
            return started

    async def run_now(self, name: str) -> JobRun | None:
        """Run `name` once now, outside its schedule, and wait for it; None when a run of it
        is in progress."""
        claim = await anyio.to_thread.run_sync(self._ledger.claim, name, None, self._clock())
        if isinstance(claim, Claim):
            return None
        await self._execute(self.jobs[name], claim)
        return await anyio.to_thread.run_sync(self._ledger.latest_run, name)

    async def wait_idle(self) -> None:
        """Until no run started by this scheduler is in progress (tests)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _sweep(self, now: dt.datetime) -> None:
        """Runs whose process died are marked abandoned at every tick, whatever is due."""
        try:
            abandoned = await anyio.to_thread.run_sync(self._ledger.sweep, now)
        except Exception:
            log.warning("could not look for abandoned runs", exc_info=True)
            return
        if abandoned:
            log.warning(
                "%d run(s) marked abandoned: their process stopped during the run", abandoned
            )

    def next_due(self, name: str, now: dt.datetime) -> dt.datetime | None:
        return self._triggers[name].get_next_fire_time(None, now)

    def _launch(self, name: str, run_id: str) -> str:
        task = asyncio.get_running_loop().create_task(self._execute(self.jobs[name], run_id))
        self._running[name] = task
        task.add_done_callback(lambda _: self._running.pop(name, None))
        return run_id

    async def _execute(self, job: ScheduledJob, run_id: str) -> None:
        log.info("job %s started (run %s)", job.name, run_id)
        keep_alive = asyncio.get_running_loop().create_task(self._keep_alive_loop(run_id))
        status, detail, started = FAILED, {}, time.perf_counter()
        try:
            status, detail = await job.work(run_id)
        except asyncio.CancelledError:
            status, detail = ABANDONED, {"error": "the scheduler stopped during the run"}
            raise
        except Exception as error:  # recorded failed; the scheduler keeps running
            log.exception("job %s failed (run %s)", job.name, run_id)
            detail = {"error": f"{type(error).__name__}: {error}"[:300]}
        finally:
            keep_alive.cancel()
            record_job_run(job.name, status, time.perf_counter() - started)
            await self._finish(run_id, status, detail)
            log.info("job %s %s (run %s)", job.name, status, run_id)

    async def _finish(self, run_id: str, status: str, detail: dict[str, Any]) -> None:
        try:
            await anyio.to_thread.run_sync(
                self._ledger.finish, run_id, status, detail, self._clock()
            )
        except Exception:
            log.exception("run %s could not be recorded as %s", run_id, status)

    async def _keep_alive_loop(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(self._keep_alive)
            try:
                await anyio.to_thread.run_sync(self._ledger.keep_alive, run_id, self._clock())
            except Exception:
                log.warning("run %s: could not refresh its liveness", run_id, exc_info=True)
