"""Loads of one tenant never disturb another (PostgreSQL, real concurrency): a reader of
tenant `default` keeps getting the same answers while tenant `busy` is loaded again and
again (by `analytics load`, a process of its own as in production: with the loads in the
readers' own process, the bulk path's threads beside them, a reader once waited 3 s in a
full run; out of process, 0.25-0.44 s with two other cores' worth of busy loops), and a
load of `busy` killed mid-copy leaves `busy`'s previous data served."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.conftest import new_postgres_database
from tests.integration.conftest import load_killed_mid_copy
from tests.support import VISIBLE_DATA, DataDir

pytestmark = pytest.mark.postgres


def busy_data(clicks: int, rows: int) -> DataDir:
    return DataDir(
        campaigns=[("cmp-001", "Busy Launch")],
        creators=[("crt-1", "Ann")],
        metrics=[("2026-01-01", "cmp-001", "crt-1", 100, clicks, 1, "1.00", None)] * rows,
    )


@pytest.fixture
def database() -> Iterator[tuple[str, Engine]]:
    url, drop = new_postgres_database("analytics_tenant_loads")
    engine = create_engine(url)
    migrations.upgrade(engine)
    load_dataset(engine, VISIBLE_DATA, dataset_name="visible")
    SqlAlchemyAccessStore(engine).create_tenant("busy")
    yield url, engine
    engine.dispose()
    drop()


def test_readers_of_one_tenant_see_no_change_while_another_is_loaded(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    settings = Settings(database_url=url, anonymous_tenant="default")
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    expected = client.get("/campaigns/cmp-001/performance").json()
    anomalies = client.get("/creators/top", params={"campaign_id": "cmp-001"}).json()
    stop, answers, slowest = threading.Event(), [], [0.0]

    def read() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            performance = client.get("/campaigns/cmp-001/performance")
            top = client.get("/creators/top", params={"campaign_id": "cmp-001"})
            slowest[0] = max(slowest[0], time.perf_counter() - started)
            answers.append((performance.status_code, performance.json(), top.json()))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(6):  # `analytics load`, a process of its own as in production
            directory = busy_data(clicks=round_, rows=20_000).write(tmp_path / f"busy-{round_}")
            command = [sys.executable, "-m", "analytics", "load", str(directory)]
            command += ["--tenant", "busy", "--dataset", f"busy-{round_}"]
            environment = {**os.environ, "DATABASE_URL": url}
            subprocess.run(command, env=environment, capture_output=True, timeout=120, check=True)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert len(answers) > 20
    assert {status for status, _, _ in answers} == {200}
    assert all(body == expected and top == anomalies for _, body, top in answers)
    assert slowest[0] < 2.0, f"a reader of another tenant waited {slowest[0]:.2f} s"
    with engine.connect() as connection:
        clicks = connection.execute(
            text("SELECT SUM(clicks) FROM campaign_daily_metrics WHERE tenant_id = 'busy'")
        ).scalar_one()
    assert clicks == 5 * 20_000


def test_a_load_killed_mid_copy_leaves_the_tenants_previous_data(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    load_dataset(
        engine, busy_data(3, 50).write(tmp_path / "old"), dataset_name="old", tenant_id="busy"
    )
    before = _totals(engine)
    big = busy_data(clicks=9, rows=400_000).write(tmp_path / "big")
    load_killed_mid_copy(engine, url, str(big), "--tenant", "busy")
    assert _totals(engine) == before
    assert before[0] == ("busy", 50, 150)
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT dataset_name FROM dataset_loads WHERE tenant_id = 'busy'")
        ).scalars()
        assert list(names) == ["old"]


def _totals(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT tenant_id, count(*), SUM(clicks) FROM campaign_daily_metrics "
                "GROUP BY tenant_id ORDER BY tenant_id"
            )
        )
        return [tuple(row) for row in rows]


def _tables_like(engine: Engine, pattern: str) -> list[str]:
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE :p"),
            {"p": pattern},
        ).scalars()
        return sorted(names)


def test_a_reload_leaves_one_partition_per_table_and_drops_retired_ones(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    _, engine = database
    with engine.begin() as connection:  # as a crash after a swap's commit would leave it
        connection.execute(text("CREATE TABLE campaign_day_totals__p999__retired (x int)"))
    for round_ in range(3):
        directory = busy_data(clicks=round_, rows=10).write(tmp_path / f"b{round_}")
        load_dataset(engine, directory, dataset_name=f"b{round_}", tenant_id="busy")
    assert _tables_like(engine, "%\\_\\_retired") == []
    partitions = _tables_like(engine, "campaign_day_totals\\_\\_p%")
    assert len(partitions) == 2  # tenant default's and tenant busy's
