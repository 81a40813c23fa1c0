"""What a load tells its watcher and its log: the phases that ran, then published or rolled back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics.adapters import load_phases
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import check_dataset, load_dataset
from analytics.adapters.engines import (
    create_database_engine,
    embedded_database_url,
    prepare_schema,
)
from tests.support import VISIBLE_DATA, DataDir

PHASE_NAMES = (
    load_phases.VALIDATING,
    load_phases.COPYING_BULK,
    load_phases.COPYING,
    load_phases.ROLLUPS,
    load_phases.INDEXES,
    load_phases.SWAPPING,
)


class RecordingProgress:
    """A watcher that records what it is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def phase(self, name: str) -> None:
        self.events.append(("phase", name))

    def rows(self, count: int) -> None:
        self.events.append(("rows", count))

    @property
    def phases(self) -> list[object]:
        return [value for kind, value in self.events if kind == "phase"]


@pytest.fixture
def engine(database_url: str | None) -> Iterator[Engine]:
    """DuckDB in memory, or the session's migrated PostgreSQL database."""
    engine = create_database_engine(database_url or embedded_database_url())
    prepare_schema(engine)
    yield engine
    engine.dispose()


def _copying(engine: Engine) -> str:
    """The copy phase of a plain file: PostgreSQL's bulk path, DuckDB's Python path."""
    return load_phases.COPYING_BULK if engine.dialect.name == "postgresql" else load_phases.COPYING


def _declined(engine: Engine) -> list[tuple[str, object]]:
    """What a watcher is told before the Python path when the bulk path declines a file."""
    return [("phase", load_phases.COPYING_BULK)] if engine.dialect.name == "postgresql" else []


def _dataset(clicks: int, extra_row: tuple[object, ...] | None = None) -> DataDir:
    metrics: list[tuple[object, ...]] = [
        ("2026-01-01", "cmp-1", "crt-1", 100, clicks, 1, "1.00", None)
    ]
    if extra_row is not None:
        metrics.append(extra_row)
    return DataDir(campaigns=[("cmp-1", "One")], creators=[("crt-1", "Ann")], metrics=metrics)


UNKNOWN_CAMPAIGN_ROW = ("2026-01-02", "cmp-404", "crt-1", 1, 1, 1, "1.00", None)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name.startswith("analytics")]


def _phase_lines(messages: list[str]) -> list[str]:
    return [message for message in messages if message.startswith(PHASE_NAMES)]


def test_published_load_logs_each_phase_with_its_duration_then_one_readable_summary(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data_dir = _dataset(clicks=7).write(tmp_path / "first")
    load_dataset(engine, data_dir, dataset_name="first")
    messages = _messages(caplog)
    expected_phases = [_copying(engine), load_phases.ROLLUPS]
    if engine.dialect.name == "postgresql":
        expected_phases += [load_phases.INDEXES, load_phases.SWAPPING]
    phase_lines = _phase_lines(messages)
    assert [line.split(" took ")[0] for line in phase_lines] == expected_phases
    assert phase_lines[0].endswith(" s (1 metric rows)")
    assert all(line.split(" took ")[1][0].isdigit() for line in phase_lines)
    summary = messages[-1]
    assert summary.startswith(
        f"published {data_dir} as 'first' of tenant 'default': 1 campaigns, 1 creators, "
    )
    assert "LoadResult" not in summary


def test_refused_load_logs_the_copy_then_rolled_back_and_no_later_phase(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_dataset(engine, _dataset(clicks=5).write(tmp_path / "old"), dataset_name="old")
    caplog.clear()
    caplog.set_level(logging.INFO)
    broken = _dataset(clicks=9, extra_row=UNKNOWN_CAMPAIGN_ROW).write(tmp_path / "broken")
    with pytest.raises(DatasetRefused):
        load_dataset(engine, broken, dataset_name="broken")
    messages = _messages(caplog)
    if engine.dialect.name == "postgresql":  # the bulk path found a row to refuse
        declined = messages.pop(0)
        assert declined.startswith(f"{load_phases.COPYING_BULK} declined after ")
        assert declined.endswith(
            ": a row needs the Python validator (for its errors or its exceptions)"
        )
    assert messages == [
        messages[0],
        f"rolled back: data directory '{broken}' refused (1 error)",
    ]
    assert messages[0].startswith("validating and copying rows took ")
    assert messages[0].endswith(" s (1 valid metric rows)")
    assert not [m for m in messages if "swapped" in m or "published" in m or "rollups" in m]


def test_refused_load_reports_only_the_copy_phase_to_its_watcher(
    engine: Engine, tmp_path: Path
) -> None:
    progress = RecordingProgress()
    broken = _dataset(clicks=9, extra_row=UNKNOWN_CAMPAIGN_ROW).write(tmp_path / "broken")
    with pytest.raises(DatasetRefused):
        load_dataset(engine, broken, dataset_name="broken", progress=progress)
    assert progress.events == [*_declined(engine), ("phase", load_phases.COPYING), ("rows", 1)]


def test_watcher_is_told_every_phase_in_order_and_the_rows_copied(
    engine: Engine, tmp_path: Path
) -> None:
    progress = RecordingProgress()
    load_dataset(engine, VISIBLE_DATA, dataset_name="visible", progress=progress)
    expected = [_copying(engine), load_phases.ROLLUPS]
    if engine.dialect.name == "postgresql":
        expected += [load_phases.INDEXES, load_phases.SWAPPING]
    assert progress.phases == expected
    assert ("rows", 23) in progress.events


def test_refused_dimension_file_logs_nothing_written(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data = _dataset(clicks=1)
    data.campaigns.append(("cmp-1", "Again"))
    broken = data.write(tmp_path / "broken")
    progress = RecordingProgress()
    with pytest.raises(DatasetRefused):
        load_dataset(engine, broken, dataset_name="broken", progress=progress)
    assert progress.phases == [load_phases.VALIDATING]
    assert _messages(caplog)[-1] == f"nothing written: data directory '{broken}' refused (1 error)"


def test_database_failure_mid_load_logs_the_phase_stopped_and_rolled_back_with_the_reason(
    engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_rollups(*args: object, **options: object) -> None:
        raise RuntimeError("disk full\nsecond line")

    # The explorer's rollups: built in this phase by either path (the bulk path's DuckDB
    # writes the Part I ones while copying).
    monkeypatch.setattr("analytics.adapters.star_loads.fill_rollups", failing_rollups)
    caplog.set_level(logging.INFO)
    with pytest.raises(RuntimeError):
        load_dataset(engine, _dataset(clicks=3).write(tmp_path / "d"), dataset_name="d")
    messages = _messages(caplog)
    assert messages[-2].startswith("building rollups stopped after ")
    assert messages[-1] == "rolled back: disk full"


def test_check_accepts_a_valid_directory_and_counts_it() -> None:
    result = check_dataset(VISIBLE_DATA)
    assert (result.campaigns, result.creators, result.metric_rows) == (6, 6, 23)


def test_check_refuses_with_the_same_report_as_a_load(engine: Engine, tmp_path: Path) -> None:
    broken = _dataset(clicks=9, extra_row=UNKNOWN_CAMPAIGN_ROW).write(tmp_path / "broken")
    with pytest.raises(DatasetRefused) as checked:
        check_dataset(broken)
    with pytest.raises(DatasetRefused) as loaded:
        load_dataset(engine, broken, dataset_name="broken")
    assert checked.value.summary() == loaded.value.summary()
    assert "line 3, column 'campaign_id': unknown id 'cmp-404'" in checked.value.summary()
