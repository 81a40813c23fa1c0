"""PostgreSQL specifics: migrations, and the loader's atomic, idempotent publish."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from analytics.adapters import migrations
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import load_dataset
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.conftest import new_postgres_database
from tests.integration.conftest import load_killed_mid_copy
from tests.integration.tcp_proxy import TcpProxy
from tests.support import VISIBLE_DATA, DataDir

TABLES = {"campaigns", "creators", "campaign_daily_metrics", "dataset_loads"}


@pytest.fixture
def empty_database() -> Iterator[str]:
    url, drop = new_postgres_database("analytics_stairway")
    yield url
    drop()


@pytest.fixture
def migrated(empty_database: str) -> Iterator[Engine]:
    engine = create_engine(empty_database)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def _metrics_total(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                text("SELECT count(*), COALESCE(SUM(clicks), 0) FROM campaign_daily_metrics")
            ).one()
        )


def _small_dataset(clicks: int, rows: int = 50) -> DataDir:
    return DataDir(
        campaigns=[("cmp-1", "One")],
        creators=[("crt-1", "Ann")],
        metrics=[("2026-01-01", "cmp-1", "crt-1", 100, clicks, 1, "1.00", None)] * rows,
    )


def test_stairway_upgrade_downgrade_upgrade_every_revision(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        previous = "base"
        for revision in migrations.revisions():
            migrations.upgrade(engine, revision)
            migrations.downgrade(engine, previous)
            migrations.upgrade(engine, revision)
            assert migrations.current_revision(engine) == revision
            previous = revision
        assert set(inspect(engine).get_table_names()) >= TABLES
        migrations.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


BOUND_MS = 100  # long for BEGIN or SET on a busy machine, short for a rewrite of the facts
SLOW_ROWS = 200_000  # revision 0009 rewrites them in one UPDATE: well over BOUND_MS


def test_migrations_run_whatever_the_engines_statement_timeout(empty_database: str) -> None:
    """The service's engine bounds every statement; a migration that rewrites a large
    tenant's rows must not be cut by that bound (here 100 ms: revision 0009 rewrites 200,000
    fact rows in one statement, and the bound is shown to cut a statement that long)."""
    untimed = create_engine(empty_database)  # to prepare and to look, without the bound
    options = {"options": f"-c statement_timeout={BOUND_MS}"}
    engine = create_engine(empty_database, connect_args=options)
    try:
        migrations.upgrade(untimed, "0008")
        _insert(
            untimed,
            "INSERT INTO campaigns (tenant_id, campaign_id, campaign_name) "
            "SELECT 'default', 'c' || n, 'C' FROM generate_series(0, 49) AS n",
            "INSERT INTO creators (tenant_id, creator_id, creator_name) "
            "SELECT 'default', 'k' || n, 'K' FROM generate_series(0, 99) AS n",
            "INSERT INTO campaign_daily_metrics (tenant_id, metric_date, campaign_id, "  # noqa: S608
            "creator_id, impressions, clicks, conversions, spend, platform) "
            "SELECT 'default', DATE '2026-01-01' + (n % 365), 'c' || (n % 50), 'k' || (n % 100), "
            f"n, 0, 0, 1, 'p' || (n % 7) FROM generate_series(1, {SLOW_ROWS}) AS n",
        )
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "100ms"
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(0.5)"))
        migrations.upgrade(engine)
        assert migrations.current_revision(untimed) == migrations.head_revision()
        with untimed.connect() as connection:
            keyed = "SELECT count(*) FROM campaign_daily_metrics WHERE platform_key > 0"
            assert connection.execute(text(keyed)).scalar_one() == SLOW_ROWS
        migrations.downgrade(engine, "base")
        assert migrations.current_revision(untimed) is None
    finally:
        engine.dispose()
        untimed.dispose()


def _insert(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_schema_refuses_negative_money_and_rows_of_another_tenants_partition(
    migrated: Engine,
) -> None:
    _insert(
        migrated,
        "INSERT INTO campaigns (tenant_id, campaign_id, campaign_name) "
        "VALUES ('default', 'c', 'C')",
        "INSERT INTO creators (tenant_id, creator_id, creator_name) VALUES ('default', 'k', 'K')",
    )
    row = (
        "INSERT INTO campaign_daily_metrics "
        "VALUES ('default', '2026-01-01', '{}', 'k', 1, 1, 1, {}, NULL)"
    )
    with pytest.raises(IntegrityError, match="ck_campaign_daily_metrics_spend_not_negative"):
        _insert(migrated, row.format("c", -1))
    foreign = row.format("c", 1).replace("'default'", "'nobody'", 1)
    with pytest.raises(IntegrityError, match="no partition of relation"):
        _insert(migrated, foreign)


def test_loading_the_same_files_again_does_nothing(migrated: Engine, tmp_path: Path) -> None:
    first = load_dataset(migrated, VISIBLE_DATA, dataset_name="visible")
    again = load_dataset(migrated, VISIBLE_DATA, dataset_name="visible")
    assert (first.loaded, again.loaded) == (True, False)
    with migrated.connect() as connection:
        ledger = connection.execute(
            text("SELECT dataset_name, metric_rows, campaigns, creators FROM dataset_loads")
        ).all()
    assert [tuple(row) for row in ledger] == [("visible", 23, 6, 6)]


def test_refused_load_leaves_the_previous_dataset_served(migrated: Engine, tmp_path: Path) -> None:
    load_dataset(migrated, _small_dataset(clicks=5).write(tmp_path / "good"), dataset_name="good")
    bad = _small_dataset(clicks=7)
    bad.metrics.append(("2026-01-02", "cmp-404", "crt-1", 1, 1, 1, "1.00", None))
    with pytest.raises(DatasetRefused, match="unknown id 'cmp-404'"):
        load_dataset(migrated, bad.write(tmp_path / "bad"), dataset_name="bad")
    assert _metrics_total(migrated) == (50, 250)


def test_readers_see_the_old_or_the_new_dataset_never_a_mix(
    migrated: Engine, tmp_path: Path
) -> None:
    old = _small_dataset(clicks=1, rows=20_000).write(tmp_path / "old")
    new = _small_dataset(clicks=3, rows=30_000).write(tmp_path / "new")
    load_dataset(migrated, old, dataset_name="old")
    seen: set[tuple[int, int]] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(_metrics_total(migrated))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        load_dataset(migrated, new, dataset_name="new")
    finally:
        done.set()
        reader.join()
    seen.add(_metrics_total(migrated))
    assert seen <= {(20_000, 20_000), (30_000, 90_000)}
    assert (30_000, 90_000) in seen


def test_cli_migrates_loads_and_reports_a_no_op(empty_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database}
    env.pop("DATA_DIR", None)

    def analytics(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "analytics", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    refused = analytics("load", str(VISIBLE_DATA))
    assert refused.returncode == 2
    assert "analytics migrate" in refused.stderr
    assert analytics("migrate").returncode == 0
    loaded = analytics("load", str(VISIBLE_DATA), "--dataset", "sample")
    assert loaded.returncode == 0, loaded.stderr
    assert (
        "published 'sample' into tenant 'default': 6 campaigns, 6 creators, 23 metric rows"
        in loaded.stdout
    )
    again = analytics("load", str(VISIBLE_DATA), "--dataset", "sample")
    assert "nothing to do" in again.stdout
    assert "Traceback" not in loaded.stderr + again.stderr


def test_database_outage_gives_503_and_degraded_health_then_recovers(
    migrated: Engine, empty_database: str
) -> None:
    load_dataset(migrated, VISIBLE_DATA, dataset_name="visible")
    target = make_url(empty_database)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(
        database_url=url,
        anonymous_tenant="default",
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
    )
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            assert client.get("/health").json()["dataset"] == "visible"
            proxy.stop()
            down = client.get("/health")
            assert down.status_code == 200
            assert down.json() == {
                "status": "degraded",
                "database": "error",
                "benchmark_service": "fixture",
                "dataset": "unknown",
            }
            failed = client.get("/campaigns/cmp-001/performance")
            assert (failed.status_code, failed.json()) == (
                503,
                {"detail": "the metrics store is unavailable"},
            )
            proxy.start()
            assert client.get("/health").json()["status"] == "ok"
            assert client.get("/campaigns/cmp-001/performance").status_code == 200
    finally:
        proxy.stop()


def test_killed_load_leaves_the_previous_dataset_served(
    migrated: Engine, empty_database: str, tmp_path: Path
) -> None:
    load_dataset(migrated, _small_dataset(clicks=5).write(tmp_path / "old"), dataset_name="old")
    big = _small_dataset(clicks=9, rows=400_000).write(tmp_path / "big")
    load_killed_mid_copy(migrated, empty_database, str(big))
    assert _metrics_total(migrated) == (50, 250)
    with migrated.connect() as connection:
        names = connection.execute(text("SELECT dataset_name FROM dataset_loads")).scalars().all()
    assert names == ["old"]


def _write_metrics(path: Path, rows: int) -> Path:
    """A data directory with `rows` metric rows over 50 campaigns and 500 creators."""
    path.mkdir()
    (path / "campaigns.csv").write_text(
        "campaign_id,campaign_name\n" + "".join(f"cmp-{i},C{i}\n" for i in range(50))
    )
    (path / "creators.csv").write_text(
        "creator_id,creator_name\n" + "".join(f"crt-{i},K{i}\n" for i in range(500))
    )
    with (path / "campaign_daily_metrics.csv").open("w") as out:
        out.write(
            "metric_date,campaign_id,creator_id,impressions,clicks,conversions,spend,revenue\n"
        )
        for i in range(rows):
            out.write(
                f"2026-01-{1 + i % 28:02d},cmp-{i % 50},crt-{i % 500},1000,{i % 90},3,12.50,\n"
            )
    return path


def _peak_rss_mb_of_load(data_dir: Path, database_url: str) -> float:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child of a large test
    # process would report the parent's size; VmHWM belongs to the new address space.
    script = (
        "import atexit, sys\n"
        "def peak():\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "    print('peak', status, file=sys.stderr)\n"
        "atexit.register(peak)\n"
        "from analytics.cli import main\n"
        f"sys.argv = ['analytics', 'load', {str(data_dir)!r}, '--database-url', {database_url!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.rsplit("peak", 1)[1].split()[0]) / 1024


def test_loader_memory_stays_flat_as_the_file_grows(
    migrated: Engine, empty_database: str, tmp_path: Path
) -> None:
    # From 100k rows, not 20k: the bulk path's DuckDB fills its bounded buffer pool over the
    # first rows (20k: 167 MB, 100k: 182, 400k: 195, 800k: 205, 1.6M: 206 MB), then stays
    # flat; a CI run under load once saw 178 -> 204 MB. Keeping the 300k more rows as Python
    # tuples (~400 bytes each) would add ~120 MB.
    small = _peak_rss_mb_of_load(_write_metrics(tmp_path / "small", 100_000), empty_database)
    large = _peak_rss_mb_of_load(_write_metrics(tmp_path / "large", 400_000), empty_database)
    assert _metrics_total(migrated)[0] == 400_000
    assert large < 300
    assert large - small < 40, f"peak RSS grew from {small:.0f} MB to {large:.0f} MB"


def test_concurrent_loads_of_the_same_files_publish_once(migrated: Engine) -> None:
    results = []

    def load() -> None:
        results.append(load_dataset(migrated, VISIBLE_DATA, dataset_name="visible").loaded)

    loaders = [threading.Thread(target=load) for _ in range(3)]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join()
    assert sorted(results) == [False, False, True]
    with migrated.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM dataset_loads")).scalar_one() == 1


def test_cli_load_refuses_a_broken_directory_with_file_line_and_column(
    migrated: Engine, empty_database: str, tmp_path: Path
) -> None:
    load_dataset(migrated, VISIBLE_DATA, dataset_name="visible")
    broken = _small_dataset(clicks=1)
    broken.metrics.append(("2026-02-30", "cmp-1", "crt-1", 1, 1, 1, "1.00", None))
    command = [sys.executable, "-m", "analytics", "load", str(broken.write(tmp_path / "broken"))]
    env = {**os.environ, "DATABASE_URL": empty_database}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert (
        "campaign_daily_metrics.csv, line 52, column 'metric_date': "
        "'2026-02-30' is not a calendar date" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert _metrics_total(migrated) == (23, 742)  # the visible sample, untouched


ROUND_ONE_ROWS = (
    "INSERT INTO campaigns VALUES ('c', 'C')",
    "INSERT INTO creators VALUES ('k', 'K'), ('j', 'J')",
    "INSERT INTO campaign_daily_metrics VALUES "
    "('2026-01-01','c','k',10,2,1,1.50,NULL), ('2026-01-01','c','j',5,1,0,0.25,2.00), "
    "('2026-01-02','c','k',1,1,1,0.10,NULL)",
)


def test_rollup_migration_rolls_up_the_dataset_already_served(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        migrations.upgrade(engine, "0003")
        _insert(engine, *ROUND_ONE_ROWS)
        migrations.upgrade(engine, "0004")
        with engine.connect() as connection:
            days = connection.execute(
                text("SELECT * FROM campaign_day_totals ORDER BY metric_date")
            ).all()
            creators = connection.execute(
                text("SELECT creator_id, impressions, spend, revenue FROM campaign_creator_totals")
            ).all()
        assert [tuple(day)[2:] for day in days] == [
            (15, 3, 1, Decimal("1.75"), Decimal("2.00")),
            (1, 1, 1, Decimal("0.10"), None),
        ]
        assert sorted(tuple(row) for row in creators) == [
            ("j", 5, Decimal("0.25"), Decimal("2.00")),
            ("k", 11, Decimal("1.60"), None),
        ]
    finally:
        engine.dispose()


ROUND_ONE_TABLES = {
    "campaigns": "campaign_id, campaign_name",
    "creators": "creator_id, creator_name",
    "campaign_daily_metrics": "metric_date, campaign_id, creator_id, impressions, clicks, "
    "conversions, spend, revenue",
    "campaign_day_totals": "campaign_id, metric_date, impressions, clicks, conversions, spend, "
    "revenue",
    "campaign_creator_totals": "campaign_id, creator_id, impressions, clicks, conversions, "
    "spend, revenue",
    "dataset_loads": "load_id, dataset_name, checksum, metric_rows",
}


def _round_one_contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: sorted(
                tuple(row)
                for row in connection.execute(text(f"SELECT {columns} FROM {table}"))  # noqa: S608
            )
            for table, columns in ROUND_ONE_TABLES.items()
        }


def test_tenant_migration_puts_round_one_data_in_tenant_default_with_nothing_lost(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    try:
        migrations.upgrade(engine, "0003")
        _insert(
            engine,
            *ROUND_ONE_ROWS,
            "INSERT INTO dataset_loads VALUES (7, 'spring', 'abc', '{}', 1, 2, 3, now(), now(), "
            "0.5, 'me@host')",
        )
        migrations.upgrade(engine, "0004")
        before = _round_one_contents(engine)
        migrations.upgrade(engine)
        assert _round_one_contents(engine) == before
        with engine.connect() as connection:
            for table in ROUND_ONE_TABLES:
                tenants = connection.execute(
                    text(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608
                ).scalars()
                assert list(tenants) == ["default"], table
    finally:
        engine.dispose()
    settings = Settings(database_url=empty_database, anonymous_tenant="default")
    with TestClient(create_app(settings)) as client:
        totals = client.get("/campaigns/c/performance").json()["totals"]
        assert (totals["total_impressions"], totals["total_spend"]) == (16, 1.85)
        assert client.get("/health").json()["dataset"] == "spring"
