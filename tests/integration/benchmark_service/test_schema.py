"""The benchmark service's own schema version: concurrent migrations, newer schemas refused."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text, update

from analytics.benchmark_service.schema import (
    LATEST_VERSION,
    SchemaNotReady,
    current_version,
    migrate,
    schema_version,
)
from analytics.benchmark_service.storage import create_storage_engine
from tests.cli_support import invoke
from tests.conftest import new_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url, drop = new_postgres_database("benchmarks_schema")
    yield url
    drop()


def test_concurrent_migrations_create_the_schema_exactly_once(empty_url: str) -> None:
    engines = [create_storage_engine(empty_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = sorted(pool.map(migrate, engines))
        assert outcomes == [(0, LATEST_VERSION)] + [(LATEST_VERSION, LATEST_VERSION)] * 3
        with engines[0].connect() as connection:
            assert current_version(connection) == LATEST_VERSION
            rows = connection.execute(schema_version.select()).all()
            assert len(rows) == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_connections_opening_a_fresh_sqlite_file_at_once_all_get_it_in_wal_mode(
    tmp_path: Path,
) -> None:
    """Four connections switching a new file to WAL at once: without the retry, 23 rounds in
    200 failed with "database is locked" (and the concurrent migrations above, once in CI)."""

    def journal_mode(url: str) -> str:
        engine = create_storage_engine(url)
        try:
            with engine.connect() as connection:
                return connection.execute(text("PRAGMA journal_mode")).scalar_one()
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for round_ in range(200):
            url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
            assert list(pool.map(journal_mode, [url] * 4)) == ["wal"] * 4


def test_a_newer_schema_is_refused_and_left_alone(empty_url: str) -> None:
    engine = create_storage_engine(empty_url)
    try:
        migrate(engine)
        with engine.connect().execution_options(write=True) as connection, connection.begin():
            connection.execute(update(schema_version).values(version=LATEST_VERSION + 1))
        with pytest.raises(SchemaNotReady, match="newer than this program"):
            migrate(engine)
        result = invoke(["benchmarks", "migrate", "--database-url", empty_url])
        assert result.exit_code == 2
        assert "newer than this program" in result.stderr
        with engine.connect() as connection:
            assert current_version(connection) == LATEST_VERSION + 1
    finally:
        engine.dispose()
