"""Publishes a data directory into a database (DuckDB or PostgreSQL), all or nothing.

One transaction: the new rows are bulk-copied while they are validated, they replace the
previous dataset (PostgreSQL: fresh tables swapped in by rename; DuckDB: rows replaced in
place), and the load is recorded in the ledger. Readers see the previous dataset until the
commit; any refusal or failure rolls back. A directory whose files match the newest ledger
entry under the same name is not loaded again.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, Table, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters import postgres_publish, schema
from analytics.adapters.csv_dataset import (
    CAMPAIGNS_FILE,
    CREATORS_FILE,
    METRICS_FILE,
    ErrorLog,
    MetricsValidator,
    csv_line,
    read_dimension,
)
from analytics.adapters.sql_queries import query

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
PROGRESS_EVERY = 100_000
LOAD_LOCK_KEY = 7_236_001  # pg_advisory_xact_lock key: one loader at a time per database
DATA_FILES = (CAMPAIGNS_FILE, CREATORS_FILE, METRICS_FILE)
TABLE_LAYOUT = 2  # bump when a load must rebuild tables that an older load left otherwise
# In dependency order: dimensions, facts, then the rollups computed from the facts.
PUBLISHED_TABLES = (
    schema.campaigns,
    schema.creators,
    schema.campaign_daily_metrics,
    schema.campaign_day_totals,
    schema.campaign_creator_totals,
)


@dataclass(frozen=True, slots=True)
class LoadResult:
    dataset_name: str
    loaded: bool  # False: the same files were already the current dataset
    campaigns: int
    creators: int
    metric_rows: int
    seconds: float


def file_checksums(data_dir: Path) -> dict[str, str]:
    """sha256 of each data file that exists (a missing one is reported by validation)."""
    checksums = {}
    for name in DATA_FILES:
        path = data_dir / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as data:
                while chunk := data.read(1 << 20):
                    digest.update(chunk)
            checksums[name] = digest.hexdigest()
    return checksums


def dataset_checksum(data_dir: Path) -> tuple[str, dict[str, str]]:
    """One checksum over the data files and the table layout, and each file's own.

    The layout is part of it so that files published under an older layout (e.g. before the
    rollups existed) are published again rather than found current."""
    checksums = file_checksums(data_dir)
    content = json.dumps({"layout": TABLE_LAYOUT, **checksums}, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest(), checksums


def is_current(engine: Engine, data_dir: Path, *, dataset_name: str) -> bool:
    """True when `data_dir` under `dataset_name` is already the served dataset."""
    checksum, _ = dataset_checksum(data_dir)
    try:
        with engine.connect() as connection:
            current = connection.execute(query("current_dataset")).one_or_none()
    except SQLAlchemyError:  # no ledger yet
        return False
    return current is not None and (current.checksum, current.dataset_name) == (
        checksum,
        dataset_name,
    )


def _counted(rows: Iterable[str], progress: Progress | None) -> Iterator[str]:
    count = 0
    for count, row in enumerate(rows, start=1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        yield row
    if progress is not None:
        progress(count)


def _dimension_lines(names: dict[str, str]) -> Iterator[str]:
    return (csv_line(item) for item in names.items())


def _copy_duckdb(connection: Connection, table: Table, lines: Iterable[str]) -> int:
    """Stage the CSV lines in a file, then let DuckDB read it with the schema's types."""
    with tempfile.TemporaryDirectory(prefix="analytics-load-") as scratch:
        staged = Path(scratch) / f"{table.name}.csv"
        count = 0
        with staged.open("w", encoding="utf-8", newline="") as out:
            for line in lines:
                out.write(line)
                count += 1
        types = ", ".join(
            f"'{column.name}': '{column.type.compile(dialect=connection.dialect)}'"
            for column in table.columns
        )
        text_columns = ", ".join(f"'{name}'" for name in _text_columns(table))
        # Only the path is data, bound as a parameter; the rest comes from the schema.
        statement = text(
            f"INSERT INTO {table.name} SELECT * FROM read_csv(:path, header = false, "  # noqa: S608
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n', "
            f"nullstr = '', force_not_null = [{text_columns}], columns = {{{types}}})"
        )
        connection.execute(statement, {"path": str(staged)})
    return count


def _refresh_rollups(connection: Connection, suffix: str = "") -> None:
    """Fill the rollups from the fact table: exact sums per campaign and day, and per campaign
    and creator (tables named with `suffix`, e.g. the `__next` ones being published)."""

    def named(table: Table) -> Table:
        return table.to_metadata(MetaData(), name=table.name + suffix) if suffix else table

    facts = named(schema.campaign_daily_metrics).c
    measures = [
        func.sum(facts.impressions),
        func.sum(facts.clicks),
        func.sum(facts.conversions),
        func.sum(facts.spend),
        func.sum(facts.revenue),  # NULL only when every row's revenue is unknown
    ]
    for rollup, key in (
        (schema.campaign_day_totals, (facts.campaign_id, facts.metric_date)),
        (schema.campaign_creator_totals, (facts.campaign_id, facts.creator_id)),
    ):
        grouped = select(*key, *measures).group_by(*key)
        target = named(rollup)
        connection.execute(insert(target).from_select(list(target.columns.keys()), grouped))


def _text_columns(table: Table) -> list[str]:
    """Columns whose empty field is empty text, not NULL."""
    return [column.name for column in table.columns if column.type.python_type is str]


def _copy_into_next(connection: Connection, table: Table, lines: Iterable[str]) -> int:
    columns = [column.name for column in table.columns]
    name = table.name + postgres_publish.NEXT
    return postgres_publish.copy_lines(connection, name, columns, _text_columns(table), lines)


def _publish_postgres(
    connection: Connection,
    campaigns: dict[str, str],
    creators: dict[str, str],
    metrics: Iterable[str],
) -> int:
    """Copy into fresh `__next` tables, roll them up, then swap them in (postgres_publish)."""
    names = [table.name for table in PUBLISHED_TABLES]
    postgres_publish.create_next_tables(connection, names)
    started = time.perf_counter()
    _copy_into_next(connection, schema.campaigns, _dimension_lines(campaigns))
    _copy_into_next(connection, schema.creators, _dimension_lines(creators))
    count = _copy_into_next(connection, schema.campaign_daily_metrics, metrics)
    log.info("validated and copied %s metric rows in %.1f s", count, time.perf_counter() - started)
    started = time.perf_counter()
    _refresh_rollups(connection, postgres_publish.NEXT)
    log.info("rollups built in %.1f s", time.perf_counter() - started)
    postgres_publish.swap_in_next_tables(connection, names)
    return count


def _publish_duckdb(
    connection: Connection,
    campaigns: dict[str, str],
    creators: dict[str, str],
    metrics: Iterable[str],
) -> int:
    """Replace every row in place: DuckDB's MVCC keeps readers on the previous rows."""
    for table in reversed(PUBLISHED_TABLES):
        connection.execute(delete(table))
    _copy_duckdb(connection, schema.campaigns, _dimension_lines(campaigns))
    _copy_duckdb(connection, schema.creators, _dimension_lines(creators))
    count = _copy_duckdb(connection, schema.campaign_daily_metrics, metrics)
    _refresh_rollups(connection)
    return count


def _loaded_by() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def load_dataset(
    engine: Engine,
    data_dir: Path,
    *,
    dataset_name: str,
    progress: Progress | None = None,
) -> LoadResult:
    """Validate `data_dir` and publish it as the current dataset of `engine`.

    Raises `DatasetRefused` (nothing changed) when any file breaks the contract.
    """
    started_at, started = datetime.now(UTC), time.perf_counter()
    checksum, checksums = dataset_checksum(data_dir)
    errors = ErrorLog()
    campaigns = read_dimension(data_dir / CAMPAIGNS_FILE, "campaign_id", "campaign_name", errors)
    creators = read_dimension(data_dir / CREATORS_FILE, "creator_id", "creator_name", errors)
    validator = MetricsValidator(campaigns, creators, errors)
    metrics = _counted(validator.lines(data_dir / METRICS_FILE), progress)
    if campaigns is None or creators is None or errors.count:
        for _ in metrics:  # report every error of the directory, write nothing
            pass
        errors.raise_if_any(str(data_dir))
    assert campaigns is not None  # an unreadable file is an error, raised above
    assert creators is not None

    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            connection.execute(text("SET LOCAL work_mem = '256MB'"))  # rollups: hash in memory
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})
        current = connection.execute(query("current_dataset")).one_or_none()
        if current is not None and (current.checksum, current.dataset_name) == (
            checksum,
            dataset_name,
        ):
            log.info(
                "%s is already the current dataset '%s': nothing to do", data_dir, dataset_name
            )
            return LoadResult(dataset_name, False, len(campaigns), len(creators), 0, 0.0)
        publish = _publish_postgres if postgres else _publish_duckdb
        metric_rows = publish(connection, campaigns, creators, metrics)
        errors.raise_if_any(str(data_dir))  # rolls the transaction back
        seconds = round(time.perf_counter() - started, 3)
        next_id = connection.execute(
            select(func.coalesce(func.max(schema.dataset_loads.c.load_id), 0) + 1)
        ).scalar_one()
        connection.execute(
            insert(schema.dataset_loads).values(
                load_id=next_id,
                dataset_name=dataset_name,
                checksum=checksum,
                file_checksums=json.dumps(checksums, sort_keys=True),
                campaigns=len(campaigns),
                creators=len(creators),
                metric_rows=metric_rows,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                seconds=seconds,
                loaded_by=_loaded_by(),
            )
        )
    result = LoadResult(dataset_name, True, len(campaigns), len(creators), metric_rows, seconds)
    log.info("published %s as '%s': %s", data_dir, dataset_name, result)
    return result
