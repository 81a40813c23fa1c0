"""Loads of one tenant never disturb another (PostgreSQL, real concurrency): a reader of
tenant `default` keeps getting the same answers while tenant `busy` is loaded again and
again (by `analytics load`, a process of its own as in production), none of its statements
waits on a lock for as long as READER_LOCK_WAIT_MS, and a load of `busy` killed mid-copy
leaves `busy`'s previous data served.

The bound is on lock waits, which PostgreSQL enforces (`lock_timeout` on the readers'
connections: a longer wait fails the reader's request), not on the readers' wall-clock time:
on a machine of two cores, the loader and the readers share the CPU, and a CI run once saw a
3.5 s request with no lock wait the test could tell apart. The swap holds the parents for
~20-80 ms here (one script of DETACH/ATTACH statements), after one lock try of at most
LOCK_TRY_MS."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from analytics.adapters import engines, migrations, postgres_publish
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.conftest import new_postgres_database
from tests.integration.conftest import load_killed_mid_copy
from tests.support import VISIBLE_DATA, DataDir

pytestmark = pytest.mark.postgres
READER_LOCK_WAIT_MS = 1_500
LOADS = 4  # of `busy`, each swapped in while the readers of `default` keep reading


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


@pytest.fixture
def bounded_lock_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's connections give up a lock wait after READER_LOCK_WAIT_MS."""
    connect_args = engines._postgres_connect_args

    def waiting_at_most_the_bound() -> dict[str, object]:
        arguments = connect_args()
        arguments["options"] += f" -c lock_timeout={READER_LOCK_WAIT_MS}"
        return arguments

    monkeypatch.setattr(engines, "_postgres_connect_args", waiting_at_most_the_bound)


@pytest.mark.usefixtures("bounded_lock_waits")
def test_a_read_held_on_a_lock_past_the_bound_fails(database: tuple[str, Engine]) -> None:
    """The bound below can fail: a read that waits longer on a lock is not answered 200."""
    url, engine = database
    settings = Settings(database_url=url, anonymous_tenant="default", cache_enabled=False)
    client = TestClient(create_app(settings))
    assert client.get("/campaigns/cmp-001/performance").status_code == 200
    with engine.begin() as connection:
        connection.execute(text("LOCK TABLE ONLY campaign_day_totals IN ACCESS EXCLUSIVE MODE"))
        held = client.get("/campaigns/cmp-001/performance")
    assert held.status_code == 503, held.text
    assert client.get("/campaigns/cmp-001/performance").status_code == 200


@pytest.mark.usefixtures("bounded_lock_waits")
def test_readers_of_one_tenant_see_no_change_while_another_is_loaded(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    assert postgres_publish.LOCK_TRY_MS < READER_LOCK_WAIT_MS / 5
    settings = Settings(database_url=url, anonymous_tenant="default", cache_enabled=False)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    expected = client.get("/campaigns/cmp-001/performance").json()
    anomalies = client.get("/creators/top", params={"campaign_id": "cmp-001"}).json()
    stop, answers = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            performance = client.get("/campaigns/cmp-001/performance")
            top = client.get("/creators/top", params={"campaign_id": "cmp-001"})
            answers.append((performance.status_code, performance.json(), top.json()))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(LOADS):  # `analytics load`, a process of its own as in production
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
    refused = [body for status, body, _ in answers if status != 200]
    assert refused == [], f"{len(refused)} reads failed (a lock wait over the bound answers 503)"
    assert all(body == expected and top == anomalies for _, body, top in answers)
    with engine.connect() as connection:
        clicks = connection.execute(
            text("SELECT SUM(clicks) FROM campaign_daily_metrics WHERE tenant_id = 'busy'")
        ).scalar_one()
    assert clicks == (LOADS - 1) * 20_000


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
        connection.execute(text("CREATE TABLE campaign_day_totals__p998 (x int)"))
        connection.execute(text("CREATE TABLE campaign_day_totals__p999__retired (x int)"))
    for round_ in range(3):
        directory = busy_data(clicks=round_, rows=10).write(tmp_path / f"b{round_}")
        load_dataset(engine, directory, dataset_name=f"b{round_}", tenant_id="busy")
    assert _tables_like(engine, "%\\_\\_retired") == []
    assert "campaign_day_totals__p998" not in _tables_like(engine, "%")
    partitions = _tables_like(engine, "campaign_day_totals\\_\\_p%")
    assert len(partitions) == 2  # tenant default's and tenant busy's
