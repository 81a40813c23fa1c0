"""How `analytics load` shows a load as it runs: a Rich display on a terminal, log lines off one.

Either way the loader logs one line per phase with its duration (load_phases.PhaseLog). On
a terminal the display names the running phase (with rows and rows/s while copying), and
log lines are printed above it rather than through it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from analytics.adapters.load_phases import LoadProgress

log = logging.getLogger("analytics")
LOG_ROWS_EVERY_SECONDS = 10


class LoggedProgress:
    """Off a terminal: a log line every `every` seconds while rows are being validated."""

    def __init__(self, every: float = LOG_ROWS_EVERY_SECONDS) -> None:
        self._every = every
        self._phase = ""
        self._last_logged = time.monotonic()

    def phase(self, name: str) -> None:
        self._phase = name

    def rows(self, count: int) -> None:
        if time.monotonic() - self._last_logged >= self._every:
            self._last_logged = time.monotonic()
            log.info("%s: %s metric rows so far", self._phase, f"{count:,}")


class RichProgress:
    """On a terminal: one line per phase, naming it; the rows phase shows rows and rows/s."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._task: TaskID | None = None

    def phase(self, name: str) -> None:
        if self._task is not None:
            self._bar.update(self._task, total=1, completed=1)
            self._bar.stop_task(self._task)
        self._task = self._bar.add_task(name, total=None, detail="")

    def rows(self, count: int) -> None:
        if self._task is None:
            return
        self._bar.update(self._task, completed=count)
        speed = self._bar.tasks[self._task].speed
        rate = f", {speed:,.0f} rows/s" if speed else ""
        self._bar.update(self._task, detail=f"{count:,} metric rows{rate}")


@contextmanager
def _logs_above_the_display(stderr_before: TextIO) -> Iterator[None]:
    """Route log handlers writing to stderr through Rich's stderr proxy while it is live, so
    that their lines are printed above the display instead of being overwritten by it."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is stderr_before
    ]
    for handler in handlers:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler in handlers:
            handler.setStream(stderr_before)


@contextmanager
def load_progress(console: Console | None = None) -> Iterator[LoadProgress]:
    """A progress watcher for one load, shown on `console` (default: stderr)."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield LoggedProgress()
        return
    columns = (
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    stderr_before = sys.stderr
    with (
        Progress(*columns, console=console, transient=True) as bar,
        _logs_above_the_display(stderr_before),
    ):
        yield RichProgress(bar)
