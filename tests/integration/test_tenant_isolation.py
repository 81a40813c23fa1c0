"""Isolation, property-based: tenants with overlapping ids and random metrics; for each
tenant's key, every endpoint answers exactly what that tenant's data alone gives, computed
here from the raw rows with exact decimals, and other tenants' ids are 404."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.api.app import create_app
from analytics.domain.access import Role
from analytics.settings import Settings
from tests.support import DataDir

CAMPAIGNS = ("cmp-1", "cmp-2", "cmp-ü")
CREATORS = ("crt-1", "crt-10", "crt-9")
THRESHOLDS = {"min_ctr": 0.05, "min_roas": 1.5}
DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(3)]

money = st.integers(min_value=0, max_value=5_000).map(lambda cents: Decimal(cents) / 100)
metric_row = st.tuples(
    st.sampled_from(DAYS),
    st.sampled_from(CAMPAIGNS),
    st.sampled_from(CREATORS),
    st.integers(0, 500),
    st.integers(0, 60),
    st.integers(0, 8),
    money,
    st.one_of(st.none(), money),
)


@st.composite
def tenant_data(draw: st.DrawFn) -> DataDir:
    campaigns = draw(st.lists(st.sampled_from(CAMPAIGNS), min_size=1, unique=True))
    rows = draw(st.lists(metric_row, max_size=8))
    rows = [row for row in rows if row[1] in campaigns]
    name = draw(st.sampled_from(["Alpha", "Beta", "Gamma"]))
    return DataDir(
        campaigns=[(campaign, f"{name} {campaign}") for campaign in campaigns],
        creators=[(creator, f"{name} {creator}") for creator in CREATORS],
        metrics=[(day.isoformat(), *rest) for day, *rest in rows],
    )


def rate(numerator: Decimal | int, denominator: Decimal | int) -> float:
    if denominator == 0:
        return 0.0
    exact = Decimal(numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def sums(rows: list[tuple[Any, ...]]) -> tuple[int, int, int, Decimal, Decimal]:
    return (
        sum(row[3] for row in rows),
        sum(row[4] for row in rows),
        sum(row[5] for row in rows),
        sum((row[6] for row in rows), Decimal(0)),
        sum((row[7] or Decimal(0) for row in rows), Decimal(0)),
    )


def expected_performance(data: DataDir, campaign: str) -> dict[str, Any]:
    impressions, clicks, conversions, spend, revenue = sums(
        [row for row in data.metrics if row[1] == campaign]
    )
    return {
        "campaign_id": campaign,
        "campaign_name": dict(data.campaigns)[campaign],
        "totals": {
            "total_impressions": impressions,
            "total_clicks": clicks,
            "total_conversions": conversions,
            "total_spend": float(spend),
            "total_revenue": float(revenue),
            "ctr": rate(clicks, impressions),
            "cvr": rate(conversions, clicks),
            "roas": rate(revenue, spend),
        },
    }


def expected_top(data: DataDir, campaign: str) -> list[dict[str, Any]]:
    by_creator: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in data.metrics:
        if row[1] == campaign:
            by_creator[row[2]].append(row)
    ranked = []
    for creator, rows in by_creator.items():
        impressions, clicks, conversions, spend, _ = sums(rows)
        ranked.append(
            {
                "campaign_id": campaign,
                "creator_id": creator,
                "creator_name": dict(data.creators)[creator],
                "total_impressions": impressions,
                "total_clicks": clicks,
                "total_conversions": conversions,
                "total_spend": float(spend),
                "ctr": rate(clicks, impressions),
            }
        )
    ranked.sort(key=lambda c: (-c["total_conversions"], -c["total_clicks"], c["creator_id"]))
    return ranked[:10]


def expected_alerts(data: DataDir, campaign: str) -> list[dict[str, Any]]:
    by_day: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in data.metrics:
        if row[1] == campaign:
            by_day[row[0]].append(row)
    alerts = []
    min_ctr, min_roas = Decimal("0.05"), Decimal("1.5")
    for day in sorted(by_day):
        impressions, clicks, conversions, spend, revenue = sums(by_day[day])
        issues = []
        if impressions > 0 and Decimal(clicks) / impressions < min_ctr:
            issues.append("ctr_below_threshold")
        if spend > 0 and revenue / spend < min_roas:
            issues.append("roas_below_threshold")
        if spend > 0 and conversions == 0:
            issues.append("spend_without_conversions")
        if issues:
            alerts.append(
                {
                    "metric_date": day,
                    "issues": issues,
                    "ctr": rate(clicks, impressions),
                    "roas": rate(revenue, spend),
                }
            )
    return alerts


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> tuple[TestClient, Path]:
    benchmarks = tmp_path / "benchmarks.json"
    benchmarks.write_text(
        "{" + ", ".join(f'"{c}": {{"min_ctr": 0.05, "min_roas": 1.5}}' for c in CAMPAIGNS) + "}",
        encoding="utf-8",
    )
    empty = DataDir(campaigns=[("cmp-seed", "Seed")], creators=[("crt-seed", "Seed")])
    app = create_app(
        Settings(
            data_dir=empty.write(tmp_path / "seed"),
            database_url=database_url,
            anonymous_tenant="",
            benchmark_fixtures_file=benchmarks,
        )
    )
    return TestClient(app, raise_server_exceptions=False), tmp_path


def _check_tenant(client: TestClient, key: str, data: DataDir) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    own = {campaign for campaign, _ in data.campaigns}
    for campaign in CAMPAIGNS:
        performance = client.get(f"/campaigns/{campaign}/performance", headers=headers)
        top = client.get("/creators/top", params={"campaign_id": campaign}, headers=headers)
        anomalies = client.get(f"/campaigns/{campaign}/anomalies", headers=headers)
        if campaign not in own:
            for response in (performance, top, anomalies):
                assert response.status_code == 404
                assert response.json() == {"detail": f"campaign '{campaign}' not found"}
            continue
        assert performance.json() == expected_performance(data, campaign)
        assert top.json() == {
            "campaign_id": campaign,
            "limit": 10,
            "creators": expected_top(data, campaign),
        }
        assert anomalies.json() == {
            "campaign_id": campaign,
            "thresholds": THRESHOLDS,
            "alerts": expected_alerts(data, campaign),
        }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tenants=st.lists(tenant_data(), min_size=2, max_size=3))
def test_every_tenant_sees_exactly_its_own_data_on_every_endpoint(
    service: tuple[TestClient, Path], tenants: list[DataDir]
) -> None:
    client, root = service
    engine = client.app.state.engine  # type: ignore[attr-defined]
    store = SqlAlchemyAccessStore(engine)
    keys = []
    for data in tenants:
        tenant = f"t-{uuid.uuid4().hex[:12]}"
        store.create_tenant(tenant)
        directory = data.write(root / tenant)
        load_dataset(engine, directory, dataset_name=tenant, tenant_id=tenant)
        keys.append(store.create_key(tenant, Role.VIEWER)[1])
    for key, data in zip(keys, tenants, strict=True):
        _check_tenant(client, key, data)
