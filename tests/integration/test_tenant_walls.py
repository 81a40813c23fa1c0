"""The two walls between tenants on PostgreSQL, each proven alone: the repositories'
`:tenant_id` filters, and row-level security under the serving role, which hides other
tenants' rows even from a statement that forgot its filter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.access import Role
from tests.conftest import new_postgres_database
from tests.support import VISIBLE_DATA, DataDir

OTHER = DataDir(
    campaigns=[("cmp-x", "X")],
    creators=[("crt-x", "X")],
    metrics=[("2026-03-01", "cmp-x", "crt-x", 7, 1, 0, "1.00", None)],
)
UNSCOPED = {
    "campaigns": "SELECT DISTINCT tenant_id FROM campaigns",
    "creators": "SELECT DISTINCT tenant_id FROM creators",
    "campaign_daily_metrics": "SELECT DISTINCT tenant_id FROM campaign_daily_metrics",
    "campaign_day_totals": "SELECT DISTINCT tenant_id FROM campaign_day_totals",
    "campaign_creator_totals": "SELECT DISTINCT tenant_id FROM campaign_creator_totals",
    "dataset_loads": "SELECT DISTINCT tenant_id FROM dataset_loads",
    "api_keys": "SELECT DISTINCT tenant_id FROM api_keys",
    "tenants": "SELECT DISTINCT tenant_id FROM tenants",
}


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url, drop = new_postgres_database("analytics_walls")
    engine = create_engine(url)
    migrations.upgrade(engine)
    load_dataset(engine, VISIBLE_DATA, dataset_name="visible")
    store = SqlAlchemyAccessStore(engine)
    store.create_tenant("other")
    directory = OTHER.write(tmp_path_factory.mktemp("other"))
    load_dataset(engine, directory, dataset_name="other", tenant_id="other")
    for tenant in ("default", "other"):
        store.create_key(tenant, Role.VIEWER)
    yield engine
    engine.dispose()
    drop()


def _unscoped(engine: Engine, tenant: str, statement: str) -> list[str]:
    store = SqlAlchemyMetricsStore(engine)
    work = lambda connection: list(connection.execute(text(statement)).scalars())  # noqa: E731
    return asyncio.run(store.run(tenant, work))


@pytest.mark.postgres
@pytest.mark.parametrize("table", sorted(UNSCOPED))
@pytest.mark.parametrize("tenant", ["default", "other"])
def test_an_unscoped_statement_on_the_serving_path_sees_only_its_tenant(
    two_tenants: Engine, table: str, tenant: str
) -> None:
    assert _unscoped(two_tenants, tenant, UNSCOPED[table]) == [tenant]


@pytest.mark.postgres
def test_the_owner_sees_every_tenant_so_the_check_above_can_fail(two_tenants: Engine) -> None:
    with two_tenants.connect() as connection:
        tenants = connection.execute(text(UNSCOPED["campaigns"])).scalars()
        assert sorted(tenants) == ["default", "other"]


@pytest.mark.postgres
def test_an_unknown_tenant_on_the_serving_path_sees_nothing(two_tenants: Engine) -> None:
    assert _unscoped(two_tenants, f"nobody-{uuid.uuid4().hex[:6]}", UNSCOPED["campaigns"]) == []


@pytest.mark.postgres
def test_the_serving_role_cannot_write_another_tenants_rows(two_tenants: Engine) -> None:
    store = SqlAlchemyMetricsStore(two_tenants)

    def rename_everything(connection: object) -> int:
        return connection.execute(  # type: ignore[attr-defined]
            text("UPDATE campaigns SET campaign_name = 'pwned'")
        ).rowcount

    assert asyncio.run(store.run("other", rename_everything)) == 1  # its own row only
    with two_tenants.connect() as connection:
        names = connection.execute(
            text("SELECT campaign_name FROM campaigns WHERE tenant_id = 'default'")
        ).scalars()
        assert "pwned" not in set(names)


def test_every_serving_query_filters_on_the_tenant() -> None:
    """The first wall, checked where it is written: every SQL file the serving repository
    runs names `:tenant_id`. The exceptions are the operators' own: the ledger listing
    (`analytics datasets`) and each tenant's load time (the dataset-age metric), which no
    request ever reads."""
    sql = Path(__file__).resolve().parents[2] / "sql"
    operators_only = {"dataset_loads.sql", "dataset_load_times.sql"}
    for path in sorted(sql.glob("*.sql")):
        if path.name not in operators_only:
            assert ":tenant_id" in path.read_text(encoding="utf-8"), path.name


@pytest.mark.postgres
@pytest.mark.parametrize(
    "question", ["campaign_performance", "find_campaign", "top_creators", "daily_anomalies"]
)
def test_a_question_read_through_the_driver_with_another_tenants_filter_sees_nothing(
    two_tenants: Engine, question: str
) -> None:
    """The repository's reads go to psycopg's cursor, not through SQLAlchemy: the serving
    role and the tenant setting still come first, so a lying `:tenant_id` finds nothing."""
    store = SqlAlchemyMetricsStore(two_tenants)
    lying = {"tenant_id": "default", "campaign_id": "cmp-001", "limit": 10}
    assert asyncio.run(store.read("default", lambda reader: reader.rows(question, lying)))
    assert asyncio.run(store.read("other", lambda reader: reader.rows(question, lying))) == []
