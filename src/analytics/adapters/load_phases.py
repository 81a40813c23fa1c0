"""The phases of a load, as reported to whoever watches it (a progress display, the log).

A load reports each phase as it starts and the metric rows validated so far; `PhaseLog`
times the phases and logs one line per phase that ran, then how the load ended.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from analytics.adapters.csv_dataset import DatasetRefused

log = logging.getLogger(__name__)

VALIDATING = "validating rows"  # `load --check`: nothing is written
COPYING = "validating and copying rows"
COPYING_BULK = "validating and copying rows (bulk path)"  # DuckDB checks, COPY of files
ROLLUPS = "building rollups"
INDEXES = "adding indexes and keys"
SWAPPING = "swapping in"


class LoadProgress(Protocol):
    """What a load tells its watcher; both calls must be cheap."""

    def phase(self, name: str) -> None:
        """`name` starts now (and the previous phase, if any, is over)."""

    def rows(self, count: int) -> None:
        """`count` metric rows have been validated (and copied) so far."""


class NoProgress:
    """A watcher that is told nothing."""

    def phase(self, name: str) -> None:
        pass

    def rows(self, count: int) -> None:
        pass


def seconds_text(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


class PhaseLog:
    """Times each phase of one load, tells `progress`, and logs each phase when it ends."""

    def __init__(self, progress: LoadProgress | None = None) -> None:
        self.progress = progress or NoProgress()
        self.rows = 0
        self._current: str | None = None
        self._started = time.perf_counter()

    def start(self, name: str) -> None:
        self.end()
        self._current, self._started = name, time.perf_counter()
        self.progress.phase(name)

    def count(self, rows: int) -> None:
        self.rows = rows
        self.progress.rows(rows)

    def end(self, *, stopped: bool = False, refused: bool = False) -> None:
        """Log the running phase, if any: its duration, and whether it ran to its end."""
        if self._current is None:
            return
        took = seconds_text(time.perf_counter() - self._started)
        rows = ""
        if self._current in (VALIDATING, COPYING, COPYING_BULK):
            rows = f" ({self.rows:,} {'valid ' if refused or stopped else ''}metric rows)"
        verb = "stopped after" if stopped else "took"
        log.info("%s %s %s%s", self._current, verb, took, rows)
        self._current = None

    def declined(self, why: str) -> None:
        """The running phase gave up, having written nothing (the bulk path declined a file):
        log it, and the phase that replaces it starts next."""
        if self._current is not None:
            took = seconds_text(time.perf_counter() - self._started)
            log.info("%s declined after %s: %s", self._current, took, why)
        self._current = None

    def failed(self, error: BaseException, *, wrote: bool) -> None:
        """Log how a load that did not publish ended: rolled back, or refused before writing."""
        refused = isinstance(error, DatasetRefused)
        self.end(stopped=not refused, refused=refused)
        log.warning("%s: %s", "rolled back" if wrote else "nothing written", reason(error))


def reason(error: BaseException) -> str:
    """Why a load stopped, in one line."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    cause = getattr(error, "orig", None) or error  # a database error: the driver's message
    first = (str(cause).strip().splitlines() or [""])[0].strip()
    return first.rstrip(":") or type(error).__name__
