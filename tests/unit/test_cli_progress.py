"""The load's progress as `analytics load` shows it: a Rich display on a terminal, logs off one."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.progress import Progress

from analytics.adapters import load_phases
from analytics.cli_progress import LoggedProgress, RichProgress, load_progress


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, record=True, width=120), out


@pytest.fixture
def stderr_handler() -> Iterator[logging.StreamHandler]:
    """A root log handler on stderr, as `analytics` configures one."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_terminal_display_has_one_line_per_phase_and_ticks_off_the_finished_ones() -> None:
    console, _ = _terminal()
    with Progress(console=console, transient=True) as bar:
        progress = RichProgress(bar)
        progress.phase(load_phases.COPYING)
        progress.rows(2_000_000)
        for name in (load_phases.ROLLUPS, load_phases.INDEXES, load_phases.SWAPPING):
            progress.phase(name)
        tasks = [(task.description, task.finished) for task in bar.tasks]
        copy_detail = bar.tasks[0].fields["detail"]
    assert tasks == [
        (load_phases.COPYING, True),
        (load_phases.ROLLUPS, True),
        (load_phases.INDEXES, True),
        (load_phases.SWAPPING, False),
    ]
    assert copy_detail.startswith("2,000,000 metric rows")


def test_terminal_display_names_the_running_phase_not_only_the_rows() -> None:
    console, _ = _terminal()
    with load_progress(console) as progress:
        assert isinstance(progress, RichProgress)
        progress.phase(load_phases.COPYING)
        progress.rows(2_000_000)
        progress.phase(load_phases.ROLLUPS)
    shown = console.export_text(clear=False)
    assert "✓ validating and copying rows 2,000,000 metric rows" in shown
    assert "⠋ building rollups" in shown


def test_terminal_display_shows_the_rate_while_copying() -> None:
    console, _ = _terminal()
    with Progress(console=console) as bar:
        progress = RichProgress(bar)
        progress.phase(load_phases.COPYING)
        progress.rows(100_000)
        progress.rows(200_000)
        detail = bar.tasks[0].fields["detail"]
    assert detail.startswith("200,000 metric rows, ")
    assert detail.endswith(" rows/s")


def test_log_lines_during_the_display_are_printed_above_it(
    stderr_handler: logging.StreamHandler,
) -> None:
    console, out = _terminal()
    stream_before = stderr_handler.stream
    with load_progress(console) as progress:
        progress.phase(load_phases.ROLLUPS)
        logging.getLogger("analytics.test").warning("a line from the loader")
    # the display's line is erased, the log line written in its place, the display redrawn
    assert "\x1b[2KWARNING analytics.test: a line from the loader\n" in out.getvalue()
    assert stderr_handler.stream is stream_before


def test_off_a_terminal_rows_are_logged_now_and_then_with_their_phase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="analytics")
    with load_progress(Console(file=io.StringIO(), force_terminal=False)) as progress:
        assert isinstance(progress, LoggedProgress)
    progress = LoggedProgress(every=0)
    progress.phase(load_phases.COPYING)
    progress.rows(1_500_000)
    assert caplog.messages == ["validating and copying rows: 1,500,000 metric rows so far"]


def test_off_a_terminal_rows_are_not_logged_more_often_than_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="analytics")
    progress = LoggedProgress(every=3600)
    progress.phase(load_phases.COPYING)
    progress.rows(100_000)
    assert caplog.messages == []
