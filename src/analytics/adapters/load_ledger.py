"""The load ledger (`dataset_loads`): which files were published, when and by whom.

The newest entry is the dataset being served. A directory is identified by the sha256 of
each data file, and one checksum over them and the table layout.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, inspect, select

from analytics.adapters import schema
from analytics.adapters.csv_dataset import CAMPAIGNS_FILE, CREATORS_FILE, METRICS_FILE
from analytics.adapters.engines import SchemaNotReady
from analytics.adapters.sql_queries import query

DATA_FILES = (CAMPAIGNS_FILE, CREATORS_FILE, METRICS_FILE)
TABLE_LAYOUT = 2  # bump when a load must rebuild tables that an older load left otherwise


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One published dataset, as `analytics datasets` lists it."""

    load_id: int
    tenant_id: str
    dataset_name: str
    loaded_at: datetime  # when its publish committed, in UTC
    metric_rows: int
    checksum: str
    loaded_by: str


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """What a publish writes into the ledger."""

    tenant_id: str
    dataset_name: str
    checksum: str
    file_checksums: dict[str, str]
    campaigns: int
    creators: int
    metric_rows: int
    started_at: datetime
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


def _loaded_by() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def next_load_id(connection: Connection) -> int:
    """The id of the load being published (loads are serialised by the loader's lock)."""
    return connection.execute(
        select(func.coalesce(func.max(schema.dataset_loads.c.load_id), 0) + 1)
    ).scalar_one()


def record_load(connection: Connection, load_id: int, record: LoadRecord) -> None:
    """Add the ledger entry of a publish, inside the publish's own transaction."""
    connection.execute(
        insert(schema.dataset_loads).values(
            load_id=load_id,
            tenant_id=record.tenant_id,
            dataset_name=record.dataset_name,
            checksum=record.checksum,
            file_checksums=json.dumps(record.file_checksums, sort_keys=True),
            campaigns=record.campaigns,
            creators=record.creators,
            metric_rows=record.metric_rows,
            started_at=record.started_at,
            finished_at=datetime.now(UTC),
            seconds=record.seconds,
            loaded_by=_loaded_by(),
        )
    )


def recorded_loads(
    engine: Engine, *, limit: int, tenant_id: str | None = None
) -> list[LedgerEntry]:
    """The newest `limit` ledger entries, newest first, of every tenant or of `tenant_id`.

    A DuckDB database that was never loaded has no ledger: no entries. A PostgreSQL one
    without it was never migrated: `SchemaNotReady`."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(schema.dataset_loads.name):
            if connection.dialect.name == "postgresql":
                raise SchemaNotReady("database has no load ledger: run `analytics migrate` first")
            return []
        name = "dataset_loads" if tenant_id is None else "dataset_loads_of_tenant"
        parameters = {"limit": limit, "tenant_id": tenant_id}
        rows = connection.execute(query(name), parameters).all()
    return [
        LedgerEntry(
            load_id=row.load_id,
            tenant_id=row.tenant_id,
            dataset_name=row.dataset_name,
            loaded_at=row.finished_at.astimezone(UTC),
            metric_rows=row.metric_rows,
            checksum=row.checksum,
            loaded_by=row.loaded_by,
        )
        for row in rows
    ]


def load_times(engine: Engine) -> dict[str, datetime]:
    """tenant id → when its current dataset was loaded (UTC); empty without a ledger."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(schema.dataset_loads.name):
            return {}
        rows = connection.execute(query("dataset_load_times")).all()
    return {row.tenant_id: row.loaded_at.astimezone(UTC) for row in rows}
