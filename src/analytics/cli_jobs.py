"""`analytics scheduler` and `analytics jobs …`: scheduled work outside the HTTP service
(CONTRACT.md §9). They build the service's own wiring (`create_app`) and use its scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from typing import Annotated

import typer
from fastapi import FastAPI

from analytics.adapters.scheduler import JobScheduler
from analytics.api.app import close_app, create_app
from analytics.cli_common import EXIT_USAGE, Command, Group, configure_logging, fail
from analytics.settings import ConfigurationError, load_settings
from analytics.telemetry.exposition import MetricsListener, scrape_registry

EXIT_BUSY = 1  # a run of that job is in progress, or the run failed

jobs_cli = typer.Typer(
    cls=Group, help="Run and list the scheduled jobs.", no_args_is_help=True, rich_markup_mode=None
)


def _app() -> FastAPI:
    """The service's wiring on PostgreSQL: the embedded engine keeps its data in the serving
    process, whose own scheduler runs its jobs."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise fail(f"configuration error: {error}", EXIT_USAGE) from None
    if not (settings.database_url or "").startswith("postgresql"):
        raise fail(
            "this command needs a PostgreSQL DATABASE_URL "
            "(on the embedded engine, `analytics serve` runs the jobs itself)",
            EXIT_USAGE,
        )
    configure_logging(settings.log_level, settings.log_format)
    try:
        return create_app(settings)
    except ConfigurationError as error:
        raise fail(f"configuration error: {error}", EXIT_USAGE) from None


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def scheduler() -> None:
    """Run the scheduled jobs alone, without serving HTTP, until interrupted (SIGINT or
    SIGTERM). Any number may run beside `serve` processes: each due run happens once."""
    app = _app()
    port = app.state.settings.scheduler_metrics_port
    try:
        listener = None if port is None else _listener(app.state.settings.metrics_host, port)
    except typer.Exit:
        close_app(app)
        raise
    try:
        asyncio.run(_run_until_stopped(app.state.scheduler))
    finally:
        if listener is not None:
            listener.stop()
        close_app(app)


def _listener(host: str, port: int) -> MetricsListener:
    """SCHEDULER_METRICS_PORT: this process's metrics (job runs, benchmark calls, pool)."""
    try:
        return MetricsListener.start(host, port, scrape_registry())
    except OSError as error:
        raise fail(
            f"configuration error: SCHEDULER_METRICS_PORT: {error.strerror}", EXIT_USAGE
        ) from None


async def _run_until_stopped(jobs: JobScheduler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    await jobs.start()
    try:
        await stop.wait()
    finally:
        await jobs.shutdown()


@jobs_cli.command("run", cls=Command)
def run_job(
    name: Annotated[str, typer.Argument(metavar="NAME", help="heartbeat or anomaly_scan")],
) -> None:
    """Run one job now, outside its schedule, and wait for it."""
    app = _app()
    jobs: JobScheduler = app.state.scheduler
    if name not in jobs.jobs:
        close_app(app)
        raise fail(f"unknown job '{name}' (jobs: {', '.join(jobs.jobs)})", EXIT_USAGE)
    try:
        run = asyncio.run(jobs.run_now(name))
    finally:
        close_app(app)
    if run is None:
        raise fail(f"a run of {name} is in progress: nothing started", EXIT_BUSY)
    typer.echo(f"{name} {run.status} (run {run.run_id}): {run.detail}")
    if run.status == "failed":
        raise typer.Exit(EXIT_BUSY)


@jobs_cli.command("list", cls=Command)
def list_jobs() -> None:
    """The jobs: schedule (cron, UTC), last run and next due time."""
    app = _app()
    jobs: JobScheduler = app.state.scheduler
    now = dt.datetime.now(dt.UTC)
    rows = [("job", "schedule", "last run (UTC)", "status", "next due (UTC)")]
    try:
        for name, job in jobs.jobs.items():
            last = jobs.ledger.latest_run(name)
            rows.append(
                (
                    name,
                    job.cron,
                    _when(None if last is None else last.started_at),
                    "-" if last is None else last.status,
                    _when(jobs.next_due(name, now)),
                )
            )
    finally:
        close_app(app)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
