"""Thresholds stored per campaign in SQLite or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, select, update
from sqlalchemy.dialects import postgresql, sqlite

from analytics.benchmark_service.schema import check_schema, thresholds
from analytics.benchmark_service.thresholds import Thresholds

SQLITE_BUSY_SECONDS = 5.0  # a write waits this long for another writer's lock
POSTGRES_CONNECT_SECONDS = 3


def _sqlite_transactions(engine: Engine) -> None:
    """SQLAlchemy's recipe for real SQLite transactions: the driver's own implicit BEGIN is
    off, and each transaction begins explicitly, IMMEDIATE (the write lock at once) for
    writes, so two writers queue instead of failing to upgrade their locks."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        _write_ahead_logged(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _write_ahead_logged(dbapi_connection: sqlite3.Connection) -> None:
    """WAL mode, so that readers never wait on a writer. Switching a new file to it is
    refused with "database is locked" while another connection switches it, without the
    busy timeout's wait (23 rounds in 200 of four connections at once on a fresh file): the
    switch is tried again for as long as that timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def create_storage_engine(url: str) -> Engine:
    """An engine on `url` (sqlite:///… or postgresql+psycopg://…); connects on first use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        _sqlite_transactions(engine)
        return engine
    return create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS}
    )


def _insert(connection: Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(thresholds)


def _row(campaign_id: str, values: Thresholds, now: dt.datetime) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "min_ctr": values.min_ctr,
        "min_roas": values.min_roas,
        "updated_at": now,
    }


class SqlThresholdStore:
    """Every method is one transaction; SQLAlchemyError escapes for the caller to map."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        with (
            self._engine.connect().execution_options(write=write) as connection,
            connection.begin(),
        ):
            yield connection

    def check(self) -> None:
        """Raises unless the database answers with the expected schema."""
        with self._transaction() as connection:
            check_schema(connection)

    def get(self, campaign_id: str) -> Thresholds | None:
        query = select(thresholds.c.min_ctr, thresholds.c.min_roas).where(
            thresholds.c.campaign_id == campaign_id
        )
        with self._transaction() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else Thresholds(min_ctr=row.min_ctr, min_roas=row.min_roas)

    def put(self, campaign_id: str, values: Thresholds) -> bool:
        """Store the campaign's thresholds; True when it had none before."""
        row = _row(campaign_id, values, dt.datetime.now(dt.UTC))
        with self._transaction(write=True) as connection:
            insert = _insert(connection).values(row).on_conflict_do_nothing()
            created = connection.execute(insert.returning(thresholds.c.campaign_id)).first()
            if created is not None:
                return True
            connection.execute(
                update(thresholds).where(thresholds.c.campaign_id == campaign_id).values(row)
            )
        return False

    def delete(self, campaign_id: str) -> bool:
        """True when the campaign had thresholds, now gone."""
        statement = delete(thresholds).where(thresholds.c.campaign_id == campaign_id)
        with self._transaction(write=True) as connection:
            return connection.execute(statement).rowcount > 0

    def add_missing(self, entries: Mapping[str, Thresholds]) -> int:
        """Store the entries of campaigns that have none (a seed: stored values win); the
        number added. All in one transaction."""
        return self._write_all(entries, replace=False)

    def replace(self, entries: Mapping[str, Thresholds]) -> int:
        """Store every entry, replacing what the campaign had (the file wins); the number
        written. All in one transaction; other campaigns are left as they are."""
        return self._write_all(entries, replace=True)

    def _write_all(self, entries: Mapping[str, Thresholds], *, replace: bool) -> int:
        now = dt.datetime.now(dt.UTC)
        rows = [_row(campaign_id, values, now) for campaign_id, values in entries.items()]
        if not rows:
            return 0
        written = 0
        with self._transaction(write=True) as connection:
            for row in rows:  # row by row: RETURNING counts exactly what was written
                insert = _insert(connection).values(row)
                if replace:
                    insert = insert.on_conflict_do_update(
                        index_elements=[thresholds.c.campaign_id],
                        set_={key: insert.excluded[key] for key in row if key != "campaign_id"},
                    )
                else:
                    insert = insert.on_conflict_do_nothing()
                result = connection.execute(insert.returning(thresholds.c.campaign_id))
                written += result.first() is not None
        return written
