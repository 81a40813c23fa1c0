"""Scheduled work on both engines (CONTRACT.md §9): the scan stores what the anomalies
endpoint reports, once; the alert feed's pages, cursors and filters; tenant isolation of
alerts and job-run details; the scheduler with an injected clock; the lifespan."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.scheduler import JobScheduler, ScheduledJob
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_job_runs import SqlAlchemyJobLedger
from analytics.api.app import create_app
from analytics.domain.access import Role
from analytics.domain.models import Issue
from analytics.settings import Settings
from tests.support import VISIBLE_DATA, DataDir


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Both engines; on PostgreSQL a database of this module's own, so that each scan walks
    the tenants of these tests only."""
    return None if request.param == "duckdb" else request.getfixturevalue("module_postgres_url")


ISSUES = {issue.value for issue in Issue}


def visible_app(database_url: str | None, **overrides: Any) -> tuple[TestClient, str]:
    tenant = f"t-{uuid.uuid4().hex[:12]}"  # a tenant of its own on the shared database
    settings = Settings(
        data_dir=VISIBLE_DATA,
        database_url=database_url,
        anonymous_tenant=tenant,
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
        **overrides,
    )
    return TestClient(create_app(settings), raise_server_exceptions=False), tenant


def run_job(client: TestClient, name: str) -> Any:
    return asyncio.run(client.app.state.scheduler.run_now(name))  # type: ignore[attr-defined]


def every_alert(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> list:
    items, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/alerts", params=query, headers=headers or {})
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor", "has_more"}
        items += body["items"]
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return items
        cursor = body["next_cursor"]


def visible_campaigns() -> list[str]:
    lines = (VISIBLE_DATA / "campaigns.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[0] for line in lines if line]


def test_scan_stores_what_the_anomalies_endpoint_reports_and_a_rerun_adds_nothing(
    database_url: str | None,
) -> None:
    client, _ = visible_app(database_url)
    run = run_job(client, "anomaly_scan")
    assert run.status in {"succeeded", "partial"}
    expected = set()
    for campaign in visible_campaigns():
        answer = client.get(f"/campaigns/{campaign}/anomalies").json()
        for alert in answer["alerts"]:
            for issue in alert["issues"]:
                expected.add((campaign, alert["metric_date"], issue, alert["ctr"], alert["roas"]))
    stored = every_alert(client, limit=3)
    assert {
        (a["campaign_id"], a["metric_date"], a["rule"], a["detail"]["ctr"], a["detail"]["roas"])
        for a in stored
        if a["rule"] in ISSUES
    } == expected
    assert len(expected) >= 5
    assert set(stored[0]) == {
        "alert_id",
        "campaign_id",
        "metric_date",
        "rule",
        "detail",
        "created_at",
    }
    assert stored[0]["created_at"].endswith("Z")
    assert run_job(client, "anomaly_scan").status in {"succeeded", "partial"}
    assert every_alert(client, limit=1000) == stored  # nothing new, nothing changed


def test_alert_feed_pages_filters_and_refuses_bad_cursors(database_url: str | None) -> None:
    client, _ = visible_app(database_url)
    run_job(client, "anomaly_scan")
    everything = every_alert(client)
    order = [(a["created_at"], a["alert_id"]) for a in everything]
    assert order == sorted(order)
    assert len(set(order)) == len(order)
    assert every_alert(client, limit=1) == everything
    assert every_alert(client, campaign_id="cmp-002") == [
        a for a in everything if a["campaign_id"] == "cmp-002"
    ]
    assert every_alert(client, rule="roas_below_threshold") == [
        a for a in everything if a["rule"] == "roas_below_threshold"
    ]
    assert every_alert(client, since="2100-01-01T00:00:00Z") == []
    assert every_alert(client, since="2000-01-01T00:00:00+02:00") == everything

    first = client.get("/alerts", params={"limit": 1}).json()
    cursor = first["next_cursor"]
    payload, mac = cursor.split(".")
    # the MAC's first character carries six of its bits (its last ones may be padding only)
    tampered = f"{payload}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"
    for bad in (tampered, "x" + cursor, "garbage", f"{payload}.", f"{mac}.{payload}"):
        answer = client.get("/alerts", params={"limit": 1, "cursor": bad})
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == [
            "query",
            "cursor",
        ]
    other_filter = client.get("/alerts", params={"cursor": cursor, "rule": "ctr_below_threshold"})
    assert other_filter.status_code == 422  # a cursor is bound to its list, tenant and filters
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"limit": "1.0"},
        {"since": "yesterday"},
        {"since": "2026-01-01"},
        {"rule": "nope"},
    ):
        assert client.get("/alerts", params=params).status_code == 422, params


@pytest.fixture
def two_tenants(tmp_path: Path, database_url: str | None) -> dict[str, Any]:
    """Tenants a and b with the same campaign id; b also has one the fixture file lacks."""
    benchmarks = tmp_path / "benchmarks.json"
    benchmarks.write_text('{"cmp-1": {"min_ctr": 0.5, "min_roas": 9}}', encoding="utf-8")
    seed = DataDir(campaigns=[("cmp-seed", "Seed")], creators=[("crt-1", "C")])
    app = create_app(
        Settings(
            data_dir=seed.write(tmp_path / "seed"),
            database_url=database_url,
            anonymous_tenant="",
            benchmark_fixtures_file=benchmarks,
        )
    )
    client = TestClient(app, raise_server_exceptions=False)
    engine = app.state.engine
    access = SqlAlchemyAccessStore(engine)
    tenants: dict[str, Any] = {"client": client}
    for name, campaigns in (("a", ["cmp-1"]), ("b", ["cmp-1", "cmp-secret-of-b"])):
        tenant = f"{name}-{uuid.uuid4().hex[:10]}"
        access.create_tenant(tenant)
        data = DataDir(
            campaigns=[(c, f"{name} {c}") for c in campaigns],
            creators=[("crt-1", "C")],
            metrics=[("2026-01-01", c, "crt-1", 100, 1, 0, "5.00", "1.00") for c in campaigns],
        )
        load_dataset(engine, data.write(tmp_path / tenant), dataset_name=name, tenant_id=tenant)
        key = access.create_key(tenant, Role.ADMIN)[1]
        tenants[name] = {"tenant": tenant, "headers": {"Authorization": f"Bearer {key}"}}
    return tenants


def test_each_tenant_sees_its_own_alerts_and_its_own_part_of_a_run(
    two_tenants: dict[str, Any],
) -> None:
    client = two_tenants["client"]
    a, b = two_tenants["a"], two_tenants["b"]
    run = run_job(client, "anomaly_scan")
    alerts_a = every_alert(client, a["headers"])
    alerts_b = every_alert(client, b["headers"])
    assert {x["campaign_id"] for x in alerts_a} == {"cmp-1"}
    assert {x["campaign_id"] for x in alerts_b} == {"cmp-1"}  # cmp-secret-of-b: no thresholds
    assert not {x["alert_id"] for x in alerts_a} & {x["alert_id"] for x in alerts_b}

    runs_a = client.get("/jobs/runs", params={"limit": 1000}, headers=a["headers"])
    runs_b = client.get("/jobs/runs", params={"limit": 1000}, headers=b["headers"])
    assert runs_a.status_code == runs_b.status_code == 200
    [mine_a] = [r for r in runs_a.json()["items"] if r["run_id"] == run.run_id]
    [mine_b] = [r for r in runs_b.json()["items"] if r["run_id"] == run.run_id]
    assert set(mine_a) == {"run_id", "job", "started_at", "finished_at", "status", "detail"}
    assert mine_a["detail"] == {"campaigns": 1, "new_alerts": 3, "failed_campaigns": []}
    assert mine_a["status"] == "succeeded"
    assert mine_b["status"] == "partial"
    assert mine_b["detail"]["failed_campaigns"] == [
        {"campaign_id": "cmp-secret-of-b", "reason": "benchmark thresholds are unavailable"}
    ]
    assert "cmp-secret-of-b" not in runs_a.text
    assert b["tenant"] not in runs_a.text

    first_page = client.get("/alerts", params={"limit": 1}, headers=a["headers"]).json()
    if first_page["next_cursor"]:
        stolen = client.get(
            "/alerts",
            params={"limit": 1, "cursor": first_page["next_cursor"]},
            headers=b["headers"],
        )
        assert stolen.status_code == 422  # bound to tenant a


def test_job_runs_need_the_admin_role(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["client"]
    engine = client.app.state.engine
    viewer = SqlAlchemyAccessStore(engine).create_key(two_tenants["a"]["tenant"], Role.VIEWER)[1]
    headers = {"Authorization": f"Bearer {viewer}"}
    assert client.get("/jobs/runs", headers=headers).status_code == 403
    assert client.get("/alerts", headers=headers).status_code == 200
    assert client.get("/jobs/runs").status_code == 401


# --- the scheduler, with an injected clock ---------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def scheduler_for(client: TestClient, work: Any, clock: Clock, name: str) -> JobScheduler:
    # The clock jumps hours at once, faster than a running run refreshes its liveness.
    ledger = SqlAlchemyJobLedger(client.app.state.engine, stale_after=dt.timedelta(days=3))
    return JobScheduler([ScheduledJob(name, "0 */6 * * *", work)], ledger, clock=clock)


def test_due_runs_fire_once_missed_runs_coalesce_and_overruns_wait(
    database_url: str | None,
) -> None:
    client, _ = visible_app(database_url)
    name = f"job-{uuid.uuid4().hex[:8]}"
    calls: list[str] = []
    release = asyncio.Event()

    async def work(run_id: str) -> tuple[str, dict[str, Any]]:
        calls.append(run_id)
        if len(calls) == 3:
            await release.wait()  # the third run overruns its interval
        return "succeeded", {"n": len(calls)}

    async def scenario() -> None:
        clock = Clock(T0)
        first = scheduler_for(client, work, clock, name)
        await first.prime(clock.now)
        assert await first.tick() == []  # 05:00: nothing due yet (a new ledger: no catch-up)
        clock.now = T0.replace(hour=6, second=3)
        assert len(await first.tick()) == 1  # 06:00 is due: one run
        await first.wait_idle()
        assert await first.tick() == []  # settled: not twice
        # Down from 06:00:03 to 19:30 the next day: 12:00, 18:00, 00:00, ... missed.
        clock.now = T0 + dt.timedelta(days=1, hours=14, minutes=30)
        restarted = scheduler_for(client, work, clock, name)
        await restarted.prime(clock.now)
        assert len(await restarted.tick()) == 1  # one catch-up run, not a burst
        await restarted.wait_idle()
        assert await restarted.tick() == []
        # 00:00 next: the run overruns past 06:00; neither this process nor another starts
        # the job again while it runs.
        clock.now = T0.replace(day=4, hour=0, minute=0, second=1)
        assert len(await restarted.tick()) == 1
        await asyncio.sleep(0)
        clock.now = T0.replace(day=4, hour=6, second=1)
        assert await restarted.tick() == []
        other = scheduler_for(client, work, clock, name)
        await other.prime(clock.now - dt.timedelta(hours=7))
        assert await other.tick() == []  # another process: busy, asked again later
        release.set()
        await restarted.wait_idle()
        assert len(await other.tick()) == 1  # the 06:00 run, once the overrun is over
        await other.wait_idle()
        assert await restarted.tick() == []  # taken by the other process

    asyncio.run(scenario())
    runs = client.app.state.scheduler.ledger.runs(name)
    assert len(calls) == len(runs) == 4
    assert [r.due_at.astimezone(dt.UTC).strftime("%d %H") for r in runs] == [
        "02 06",
        "03 18",
        "04 00",
        "04 06",
    ]
    assert {r.status for r in runs} == {"succeeded"}


def test_a_failing_job_is_logged_recorded_failed_and_the_next_run_still_happens(
    database_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = visible_app(database_url)
    name = f"job-{uuid.uuid4().hex[:8]}"

    async def broken(run_id: str) -> tuple[str, dict[str, Any]]:
        raise RuntimeError("boom")

    async def scenario() -> None:
        clock = Clock(T0)
        jobs = scheduler_for(client, broken, clock, name)
        await jobs.prime(clock.now)
        for hour in (6, 12):
            clock.now = T0.replace(hour=hour, second=1)
            assert len(await jobs.tick()) == 1
            await jobs.wait_idle()

    with caplog.at_level(logging.ERROR, logger="analytics.adapters.scheduler"):
        asyncio.run(scenario())
    runs = client.app.state.scheduler.ledger.runs(name)
    assert [(r.status, r.detail) for r in runs] == [("failed", {"error": "RuntimeError: boom"})] * 2
    failures = [r for r in caplog.records if r.getMessage().startswith(f"job {name} failed")]
    assert len(failures) == 2
    assert all(r.exc_info for r in failures)


def test_heartbeat_logs_one_line_with_the_utc_time_and_records_its_run(
    database_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = visible_app(database_url)
    with caplog.at_level(logging.INFO, logger="analytics.adapters.scheduled_jobs"):
        run = run_job(client, "heartbeat")
    assert run.status == "succeeded"
    assert run.detail["utc"].endswith("Z")
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("heartbeat")]
    assert line == f"heartbeat utc={run.detail['utc']} run={run.run_id}"


def test_without_the_lifespan_the_app_answers_and_no_scheduler_starts(
    database_url: str | None,
) -> None:
    client, _ = visible_app(database_url, scheduler_enabled=True)
    assert client.get("/campaigns/cmp-001/performance").status_code == 200
    assert client.get("/alerts").json() == {"items": [], "next_cursor": None, "has_more": False}
    assert not client.app.state.scheduler.started
    with client:
        assert client.app.state.scheduler.started  # the lifespan starts it when enabled
    assert not client.app.state.scheduler.started  # and stops it


def test_scheduler_disabled_does_not_start_with_the_lifespan(database_url: str | None) -> None:
    client, _ = visible_app(database_url, scheduler_enabled=False)
    with client:
        assert not client.app.state.scheduler.started
