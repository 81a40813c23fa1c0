"""Loads a data directory into an embedded DuckDB database, all or nothing."""

from __future__ import annotations

import csv
import logging
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, text

from analytics.adapters import schema
from analytics.adapters.csv_dataset import (
    CAMPAIGNS_FILE,
    CREATORS_FILE,
    METRICS_FILE,
    ErrorLog,
    MetricsValidator,
    read_dimension,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadSummary:
    campaigns: int
    creators: int
    metric_rows: int
    seconds: float


def _write_csv(path: Path, rows: Iterable[Sequence[object]]) -> int:
    """Rows as RFC 4180 CSV with every field quoted; None is written as `""`, like ''."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _copy_into(connection: Connection, table: Table, path: Path) -> None:
    """Bulk insert a file written by `_write_csv`: an empty field is NULL, except in text
    columns (force_not_null), where it is ''.

    Only the file path is a parameter; the rest is built from the schema, never from input.
    """
    columns = ", ".join(
        f"'{column.name}': '{column.type.compile(dialect=connection.dialect)}'"
        for column in table.columns
    )
    text_columns = ", ".join(
        f"'{column.name}'" for column in table.columns if column.type.python_type is str
    )
    statement = text(
        f"INSERT INTO {table.name} SELECT * FROM read_csv(:path, header = false, "  # noqa: S608
        f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n', "
        f"nullstr = '', force_not_null = [{text_columns}], columns = {{{columns}}})"
    )
    connection.execute(statement, {"path": str(path)})


def load_data_dir(engine: Engine, data_dir: Path) -> LoadSummary:
    """Validate every file of `data_dir`, then create and fill the tables in one transaction.

    Raises `DatasetRefused` (nothing written) when any file breaks the contract.
    """
    started = time.perf_counter()
    errors = ErrorLog()
    campaigns = read_dimension(data_dir / CAMPAIGNS_FILE, "campaign_id", "campaign_name", errors)
    creators = read_dimension(data_dir / CREATORS_FILE, "creator_id", "creator_name", errors)
    validator = MetricsValidator(campaigns, creators, errors)
    with tempfile.TemporaryDirectory(prefix="analytics-load-") as scratch:
        staged = Path(scratch)
        metric_rows = _write_csv(staged / METRICS_FILE, validator.rows(data_dir / METRICS_FILE))
        errors.raise_if_any(str(data_dir))
        assert campaigns is not None  # an unreadable file is an error, raised above
        assert creators is not None
        _write_csv(staged / CAMPAIGNS_FILE, campaigns.items())
        _write_csv(staged / CREATORS_FILE, creators.items())
        with engine.begin() as connection:
            schema.metadata.create_all(connection)
            _copy_into(connection, schema.campaigns, staged / CAMPAIGNS_FILE)
            _copy_into(connection, schema.creators, staged / CREATORS_FILE)
            _copy_into(connection, schema.campaign_daily_metrics, staged / METRICS_FILE)
    summary = LoadSummary(
        len(campaigns), len(creators), metric_rows, round(time.perf_counter() - started, 3)
    )
    log.info("loaded %s: %s", data_dir, summary)
    return summary
