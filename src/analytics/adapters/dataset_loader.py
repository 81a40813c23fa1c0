"""Publishes a data directory into one tenant of a database (DuckDB or PostgreSQL), all or
nothing, touching no other tenant.

One transaction: the campaigns and creators of the files are upserted (names from the file
win; none is ever deleted, so those created through the API stay), the new metric rows are
bulk-copied while they are validated and replace the tenant's previous ones (PostgreSQL:
fresh partitions swapped in; DuckDB: the tenant's rows replaced in place), the rollups are
rebuilt, and the load is recorded in the ledger. Readers see the previous rows until the
commit; any refusal or failure rolls back. A directory whose files match the tenant's newest
ledger entry under the same name is not loaded again.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters import (
    bulk_publish,
    catalog_loads,
    postgres_publish,
    schema,
    star_loads,
)
from analytics.adapters.breakdown_keys import BreakdownKeys
from analytics.adapters.catalog_clock import writer_lock
from analytics.adapters.csv_dataset import (
    CAMPAIGNS_FILE,
    CREATORS_FILE,
    METRICS_FILE,
    DatasetRefused,
    ErrorLog,
    MetricsValidator,
    csv_line,
    read_dimension,
)
from analytics.adapters.load_ledger import LoadRecord, dataset_checksum, next_load_id, record_load
from analytics.adapters.load_phases import (
    COPYING,
    COPYING_BULK,
    ROLLUPS,
    VALIDATING,
    LoadProgress,
    PhaseLog,
    seconds_text,
)
from analytics.adapters.sql_access import add_tenant_if_missing
from analytics.adapters.sql_queries import query
from analytics.domain.access import DEFAULT_TENANT, UnknownTenant
from analytics.telemetry.metrics import record_dataset_load

log = logging.getLogger(__name__)

PROGRESS_EVERY = 100_000
LOAD_LOCK_KEY = 7_236_001  # pg_advisory_xact_lock key: one loader at a time per database
# Replaced whole for the tenant: the facts, then the rollups computed from them, and the
# explorer's dimensions and rollups (its star).
REPLACED_TABLES = (
    schema.campaign_daily_metrics,
    schema.campaign_day_totals,
    schema.campaign_creator_totals,
    *schema.STAR_TABLES,
)


@dataclass(frozen=True, slots=True)
class LoadResult:
    dataset_name: str
    loaded: bool  # False: the same files were already the current dataset
    campaigns: int
    creators: int
    metric_rows: int
    seconds: float

    def summary(self) -> str:
        rate = f" ({self.metric_rows / self.seconds:,.0f} rows/s)" if self.seconds else ""
        return (
            f"{self.campaigns:,} campaigns, {self.creators:,} creators, "
            f"{self.metric_rows:,} metric rows in {seconds_text(self.seconds)}{rate}"
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    campaigns: int
    creators: int
    metric_rows: int
    seconds: float


def _is_current_in(
    connection: Connection, checksum: str, dataset_name: str, tenant_id: str
) -> bool:
    current = connection.execute(query("current_dataset"), {"tenant_id": tenant_id}).one_or_none()
    return current is not None and (current.checksum, current.dataset_name) == (
        checksum,
        dataset_name,
    )


def is_current(
    engine: Engine, data_dir: Path, *, dataset_name: str, tenant_id: str = DEFAULT_TENANT
) -> bool:
    """True when `data_dir` under `dataset_name` is already the tenant's served dataset."""
    checksum, _ = dataset_checksum(data_dir)
    try:
        with engine.connect() as connection:
            return _is_current_in(connection, checksum, dataset_name, tenant_id)
    except SQLAlchemyError:  # no ledger yet
        return False


def _counted(rows: Iterable[str], phases: PhaseLog) -> Iterator[str]:
    count = 0
    for count, row in enumerate(rows, start=1):
        if count % PROGRESS_EVERY == 0:
            phases.count(count)
        yield row
    phases.count(count)


def _dimension_lines(tenant_id: str, names: dict[str, str]) -> Iterator[str]:
    return (csv_line((tenant_id, *item)) for item in names.items())


def _of_tenant(tenant_id: str, lines: Iterable[str]) -> Iterator[str]:
    """Metric lines with the tenant as their first field (a tenant id needs no quoting)."""
    prefix = f"{tenant_id},"
    return (prefix + line for line in lines)


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
            f"INSERT INTO {table.name} ({', '.join(table.columns.keys())}) "  # noqa: S608
            "SELECT * FROM read_csv(:path, header = false, "
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', new_line = '\\n', "
            f"nullstr = '', force_not_null = [{text_columns}], columns = {{{types}}})"
        )
        connection.execute(statement, {"path": str(staged)})
    return count


def _named(load_id: int | None) -> star_loads.Named:
    """The table a load writes: the partition of load `load_id`, or the table (DuckDB)."""

    def named(table: Table) -> Table:
        if load_id is None:
            return table
        name = postgres_publish.partition_name(table.name, load_id)
        return table.to_metadata(MetaData(), name=name)

    return named


def _refresh_rollups(connection: Connection, tenant_id: str, load_id: int | None) -> None:
    """Fill the tenant's rollups from its fact rows: exact sums per campaign and day, and per
    campaign and creator (into the partitions of load `load_id` on PostgreSQL, which hold
    that tenant alone: analysed first, grouped without the tenant column)."""
    named = _named(load_id)
    facts_table = named(schema.campaign_daily_metrics)
    facts = facts_table.c
    if load_id is not None:
        connection.execute(text(f"ANALYZE {postgres_publish.quoted(facts_table.name)}"))
    measures = [
        func.sum(facts.impressions),
        func.sum(facts.clicks),
        func.sum(facts.conversions),
        func.sum(facts.spend),
        func.sum(facts.revenue),  # NULL only when every row's revenue is unknown
    ]
    tenant = literal(tenant_id, schema.campaign_daily_metrics.c.tenant_id.type)
    for rollup, key in (
        (schema.campaign_day_totals, (facts.campaign_id, facts.metric_date)),
        (schema.campaign_creator_totals, (facts.campaign_id, facts.creator_id)),
    ):
        grouped = select(tenant, *key, *measures).group_by(*key)
        if load_id is None:  # DuckDB: one table for every tenant
            grouped = grouped.where(facts.tenant_id == tenant_id)
        target = named(rollup)
        connection.execute(insert(target).from_select(list(target.columns.keys()), grouped))


def _text_columns(table: Table) -> list[str]:
    """Columns whose empty field is empty text, not NULL."""
    return [column.name for column in table.columns if column.type.python_type is str]


def _stage_dimensions(connection: Connection, source: _Source, tenant_id: str) -> None:
    """The dimension files into temporary tables, merged into the catalog after the rollups
    (catalog_loads: under the tenant's catalog clock, held only from there to the commit)."""
    staging = catalog_loads.create_staging(connection)
    postgres = connection.dialect.name == "postgresql"
    for table, names in ((schema.campaigns, source.campaigns), (schema.creators, source.creators)):
        lines = _dimension_lines(tenant_id, names)
        target = staging[table.name]
        if postgres:
            columns = [column.name for column in target.columns]
            postgres_publish.copy_lines(
                connection, target.name, columns, _text_columns(target), lines, freeze=False
            )
        else:
            _copy_duckdb(connection, target, lines)


def _copy_postgres(connection: Connection, source: _Source, tenant_id: str, load_id: int) -> int:
    """Stage the dimensions, then copy the facts into a fresh, bare partition (swapped in
    later by postgres_publish)."""
    _stage_dimensions(connection, source, tenant_id)
    tables = [table.name for table in REPLACED_TABLES]
    postgres_publish.create_partitions(connection, tables, tenant_id, load_id)
    facts = schema.campaign_daily_metrics
    return postgres_publish.copy_lines(
        connection,
        postgres_publish.partition_name(facts.name, load_id),
        [column.name for column in facts.columns],
        _text_columns(facts),
        _of_tenant(tenant_id, source.metrics),
    )


def _copy_duckdb_in_place(
    connection: Connection, source: _Source, tenant_id: str, load_id: int
) -> int:
    """Stage the dimensions and replace the tenant's rows in place: DuckDB's MVCC keeps
    readers on the previous rows until the commit."""
    for table in reversed(REPLACED_TABLES):
        connection.execute(delete(table).where(table.c.tenant_id == tenant_id))
    _stage_dimensions(connection, source, tenant_id)
    lines = _of_tenant(tenant_id, source.metrics)
    return _copy_duckdb(connection, schema.campaign_daily_metrics, lines)


def _publish(
    connection: Connection, source: _Source, tenant_id: str, load_id: int, phases: PhaseLog
) -> int:
    """Copy the rows, stop there if any was refused, then roll up (and swap in, PostgreSQL).
    PostgreSQL tries the bulk path first; when it declines, the Python path runs."""
    postgres = connection.dialect.name == "postgresql"
    if postgres and bulk_publish.ENABLED:
        metrics = Path(source.name) / METRICS_FILE
        phases.start(COPYING_BULK)
        with bulk_publish.bulk_facts(
            metrics,
            source.campaigns,
            source.creators,
            tenant_id=tenant_id,
            declined=phases.declined,
        ) as bulk:
            if bulk is not None:
                phases.count(bulk.rows)
                return _publish_bulk(connection, source, bulk, tenant_id, load_id, phases)
    copy = _copy_postgres if postgres else _copy_duckdb_in_place
    phases.start(COPYING)
    metric_rows = copy(connection, source, tenant_id, load_id)
    source.errors.raise_if_any(source.name)  # rolls the transaction back
    phases.start(ROLLUPS)
    written = load_id if postgres else None
    _refresh_rollups(connection, tenant_id, written)
    dates = source.validator.dates  # every date of the rows (any bad row refused the load)
    star_loads.fill_dimensions(connection, tenant_id, source.keys, dates, _named(written))
    star_loads.fill_rollups(connection, tenant_id, _named(written), one_tenant=postgres)
    _swap_in(connection, tenant_id, written, phases)
    return metric_rows


def _publish_bulk(
    connection: Connection,
    source: _Source,
    bulk: bulk_publish.BulkFacts,
    tenant_id: str,
    load_id: int,
    phases: PhaseLog,
) -> int:
    """The bulk path's rows into fresh partitions, its rollups with them (or built here when
    DuckDB could not write them), then the rest of the publish as on the Python path."""
    _stage_dimensions(connection, source, tenant_id)
    postgres_publish.create_partitions(
        connection, [table.name for table in REPLACED_TABLES], tenant_id, load_id
    )
    named = _named(load_id)
    rolled_up = bulk_publish.copy_facts(connection, bulk, tenant_id, named)
    phases.start(ROLLUPS)
    if rolled_up:
        facts = postgres_publish.quoted(named(schema.campaign_daily_metrics).name)
        connection.execute(text(f"ANALYZE {facts}"))
    else:
        _refresh_rollups(connection, tenant_id, load_id)
    star_loads.fill_dimensions(connection, tenant_id, bulk.keys, bulk.dates, named)
    star_loads.fill_rollups(connection, tenant_id, named, one_tenant=True, day_core=not rolled_up)
    _swap_in(connection, tenant_id, load_id, phases)
    return bulk.rows


def _swap_in(connection: Connection, tenant_id: str, load_id: int | None, phases: PhaseLog) -> None:
    """Merge the staged catalog rows; PostgreSQL: swap the new partitions in."""
    catalog_loads.merge_dimensions(connection, tenant_id)
    if load_id is not None:
        names = [table.name for table in REPLACED_TABLES]
        postgres_publish.swap_in_partitions(
            connection,
            names,
            tenant_id,
            load_id,
            analysed=[schema.campaign_daily_metrics.name],  # before its rollups
            phase=phases.start,
        )


@dataclass
class _Source:
    """A data directory being read: its dimensions, its metric rows (validated as they are
    streamed) and the errors found so far."""

    name: str
    campaigns: dict[str, str]
    creators: dict[str, str]
    metrics: Iterator[str]
    errors: ErrorLog
    validator: MetricsValidator
    keys: BreakdownKeys


def _read(data_dir: Path, phases: PhaseLog) -> _Source:
    """Read the dimension files; if any error is found already, validate the rest (to report
    every error) and raise `DatasetRefused`."""
    errors = ErrorLog()
    campaigns = read_dimension(data_dir / CAMPAIGNS_FILE, "campaign_id", "campaign_name", errors)
    creators = read_dimension(data_dir / CREATORS_FILE, "creator_id", "creator_name", errors)
    keys = BreakdownKeys()
    validator = MetricsValidator(campaigns, creators, errors, tail=keys.tail)
    metrics = _counted(validator.lines(data_dir / METRICS_FILE), phases)
    if campaigns is None or creators is None or errors.count:
        phases.start(VALIDATING)
        for _ in metrics:  # report every error of the directory, write nothing
            pass
        _refuse(str(data_dir), errors, phases)
    return _Source(str(data_dir), campaigns, creators, metrics, errors, validator, keys)


def _refuse(name: str, errors: ErrorLog, phases: PhaseLog) -> NoReturn:
    refused = DatasetRefused(name, errors.errors, errors.count)
    phases.failed(refused, wrote=False)
    raise refused


def check_dataset(data_dir: Path, *, progress: LoadProgress | None = None) -> CheckResult:
    """Validate `data_dir` without a database; raises `DatasetRefused` as a load would."""
    started, phases = time.perf_counter(), PhaseLog(progress)
    source = _read(data_dir, phases)
    phases.start(VALIDATING)
    metric_rows = sum(1 for _ in source.metrics)
    if source.errors.count:
        _refuse(source.name, source.errors, phases)
    phases.end()
    seconds = time.perf_counter() - started
    return CheckResult(len(source.campaigns), len(source.creators), metric_rows, seconds)


def _lock(connection: Connection) -> None:
    """PostgreSQL: no statement timeout, memory for the index builds, one loader at a time."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SET LOCAL statement_timeout = 0"))
    connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    connection.execute(text("SET LOCAL work_mem = '256MB'"))  # rollups: hash in memory
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})


def _tenant_ready(connection: Connection, tenant_id: str, *, create: bool) -> None:
    """`UnknownTenant` unless the tenant exists (or `create` it, for a process started with
    DATA_DIR: its configuration names the tenant)."""
    if create:
        add_tenant_if_missing(connection, tenant_id, tenant_id)
    elif not connection.execute(
        select(schema.tenants.c.tenant_id).where(schema.tenants.c.tenant_id == tenant_id)
    ).first():
        raise UnknownTenant(tenant_id)


def load_dataset(
    engine: Engine,
    data_dir: Path,
    *,
    dataset_name: str,
    tenant_id: str = DEFAULT_TENANT,
    create_tenant: bool = False,
    progress: LoadProgress | None = None,
) -> LoadResult:
    """Validate `data_dir` and publish it as the current dataset of tenant `tenant_id`.

    Raises `DatasetRefused` (nothing changed) when any file breaks the contract, and
    `UnknownTenant` when the tenant does not exist and `create_tenant` is false.
    """
    started_at, started = datetime.now(UTC), time.perf_counter()
    checksum, checksums = dataset_checksum(data_dir)
    phases = PhaseLog(progress)
    try:
        source = _read(data_dir, phases)
    except DatasetRefused:
        record_dataset_load("refused")
        raise
    try:
        with writer_lock(engine), engine.begin() as connection:
            _lock(connection)
            _tenant_ready(connection, tenant_id, create=create_tenant)
            if _is_current_in(connection, checksum, dataset_name, tenant_id):
                log.info(
                    "%s is already the current dataset '%s': nothing to do", data_dir, dataset_name
                )
                record_dataset_load("unchanged")
                return LoadResult(
                    dataset_name, False, len(source.campaigns), len(source.creators), 0, 0.0
                )
            load_id = next_load_id(connection)
            metric_rows = _publish(connection, source, tenant_id, load_id, phases)
            seconds = round(time.perf_counter() - started, 3)
            record = LoadRecord(
                tenant_id,
                dataset_name,
                checksum,
                checksums,
                len(source.campaigns),
                len(source.creators),
                metric_rows,
                started_at,
                seconds,
            )
            record_load(connection, load_id, record)
    except BaseException as error:
        phases.failed(error, wrote=True)
        record_dataset_load("refused" if isinstance(error, DatasetRefused) else "failed")
        raise
    phases.end()
    if engine.dialect.name == "postgresql":
        postgres_publish.drop_retired_partitions(engine)
    result = LoadResult(
        dataset_name, True, len(source.campaigns), len(source.creators), metric_rows, seconds
    )
    record_dataset_load("published", rows=metric_rows, seconds=seconds)
    log.info(
        "published %s as '%s' of tenant '%s': %s",
        data_dir,
        dataset_name,
        tenant_id,
        result.summary(),
    )
    return result
