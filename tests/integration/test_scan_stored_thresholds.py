"""The anomaly scan takes each campaign's thresholds where `/campaigns/{id}/anomalies` does:
stored thresholds first, then the fixture file (CONTRACT.md §7, §9), on both engines."""

from __future__ import annotations

import pytest

from tests.integration.catalog_support import with_keys
from tests.integration.test_scheduled_jobs import (
    ISSUES,
    every_alert,
    run_job,
    visible_app,
    visible_campaigns,
)


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Both engines; on PostgreSQL a database of this module's own, so that each scan walks
    the tenants of these tests only."""
    return None if request.param == "duckdb" else request.getfixturevalue("module_postgres_url")


def test_the_scan_uses_stored_thresholds_before_the_fixture_file(database_url: str | None) -> None:
    client, tenant_id = visible_app(database_url)
    tenant = with_keys(client, tenant_id)
    strict = tenant.put("/campaigns/cmp-001/thresholds", {"min_ctr": 0.9, "min_roas": 1000})
    lenient = tenant.put("/campaigns/cmp-002/thresholds", {"min_ctr": 0, "min_roas": 0})
    assert (strict.status_code, lenient.status_code) == (200, 200)

    assert run_job(client, "anomaly_scan").status in {"succeeded", "partial"}

    expected = set()
    for campaign in visible_campaigns():
        answer = tenant.get(f"/campaigns/{campaign}/anomalies")
        assert answer.status_code == 200
        for alert in answer.json()["alerts"]:
            expected |= {(campaign, alert["metric_date"], issue) for issue in alert["issues"]}
    stored = {
        (a["campaign_id"], a["metric_date"], a["rule"])
        for a in every_alert(client, headers=tenant.viewer)
        if a["rule"] in ISSUES
    }
    assert stored == expected
    rules_of = {c: {rule for cid, _, rule in stored if cid == c} for c in ("cmp-001", "cmp-002")}
    # cmp-001 under thresholds nothing reaches; cmp-002 under thresholds nothing falls below
    assert {"ctr_below_threshold", "roas_below_threshold"} <= rules_of["cmp-001"]
    assert rules_of["cmp-002"] <= {"spend_without_conversions"}
