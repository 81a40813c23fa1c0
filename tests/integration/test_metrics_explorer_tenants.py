"""The explorer reads the caller's tenant only, on both engines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.engines import create_database_engine, embedded_database_url, prepare_schema
from analytics.adapters.sql_explorer import SqlAlchemyExplorers
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.explorer import ExplorerQuery
from tests.explorer_reference import Dataset


@pytest.fixture
def engine(database_url: str | None) -> Iterator[Engine]:
    engine = create_database_engine(database_url or embedded_database_url())
    prepare_schema(engine)
    yield engine
    engine.dispose()


def _rows(impressions: str) -> list[dict[str, str]]:
    row = {"metric_date": "2026-03-02", "campaign_id": "cmp-1", "creator_id": "crt-1"}
    row |= {"impressions": impressions, "clicks": "1", "conversions": "0", "spend": "1.00"}
    return [row | {"revenue": "", "platform": "ios"}]


async def test_each_tenant_sees_its_own_rows_only(engine: Engine, tmp_path: Path) -> None:
    tenants = {"explorer-a": "100", "explorer-b": "200"}
    for tenant, impressions in tenants.items():
        data = Dataset(_rows(impressions), campaigns=["cmp-1"], creators=["crt-1"])
        directory = data.write(tmp_path / tenant)
        load_dataset(engine, directory, dataset_name=tenant, tenant_id=tenant, create_tenant=True)
    explorers = SqlAlchemyExplorers(SqlAlchemyMetricsStore(engine))
    query = ExplorerQuery(dt.date(2026, 1, 1), dt.date(2026, 12, 31), group_by=("platform",))
    for tenant, impressions in tenants.items():
        rows = await explorers.for_tenant(tenant).explore(query=query, after=None, limit=10)
        assert [(row.keys, row.impressions) for row in rows] == [(("ios",), int(impressions))]
    assert await explorers.for_tenant("nobody").explore(query=query, after=None, limit=10) == []
