"""DELETE of a campaign or creator racing a load into the same tenant (CONTRACT.md §7 "Loads
and edits coexist"), on both engines, with a real concurrent load (a thread running the
loader on its own connection) and real HTTP requests.

Whichever commits first decides, and both outcomes are consistent: the delete wins (204) and
the load, which upserts the campaigns and creators of its files, brings the item back from
the file with its metric rows; or the load wins and the delete is 409 (metric rows now
exist). Never an item missing while metric rows name it, never a 500.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from analytics.adapters.dataset_loader import load_dataset
from tests.conftest import ClientFactory
from tests.integration.catalog_support import Tenant, new_tenant
from tests.support import DataDir

FILLER_ROWS = 40_000  # the load copies them for a while before it commits
# seconds from the load's start to the deletes' (negative: the deletes start first)
OFFSETS = (-0.3, -0.02, 0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 4.0)

ORPHANS = """
SELECT 'campaign', m.campaign_id FROM campaign_daily_metrics AS m
WHERE m.tenant_id = :t AND NOT EXISTS (
    SELECT 1 FROM campaigns AS c WHERE c.tenant_id = :t AND c.campaign_id = m.campaign_id)
UNION ALL
SELECT 'creator', m.creator_id FROM campaign_daily_metrics AS m
WHERE m.tenant_id = :t AND NOT EXISTS (
    SELECT 1 FROM creators AS c WHERE c.tenant_id = :t AND c.creator_id = m.creator_id)
UNION ALL
SELECT 'rollup', d.campaign_id FROM campaign_day_totals AS d
WHERE d.tenant_id = :t AND NOT EXISTS (
    SELECT 1 FROM campaigns AS c WHERE c.tenant_id = :t AND c.campaign_id = d.campaign_id)
"""


def _data(round_: int) -> DataDir:
    start = dt.date(2025, 1, 1)
    filler = [
        ((start + dt.timedelta(days=n % 365)).isoformat(), "cmp-1", "crt-1", 100, 2, 1, "1.00", "")
        for n in range(FILLER_ROWS)
    ]
    return DataDir(
        campaigns=[("cmp-1", "One"), (f"race-{round_}", f"Race {round_} (file)")],
        creators=[("crt-1", "Ann"), (f"crt-race-{round_}", f"Creator {round_} (file)")],
        metrics=[
            *filler,
            ("2026-03-01", f"race-{round_}", f"crt-race-{round_}", 50, 5, 1, "2.00", "3.00"),
        ],
    )


def _race(tenant: Tenant, engine: Engine, data: Path, round_: int, offset: float) -> list[int]:
    """The load and the deletes (of a campaign and a creator the file has, and of a campaign
    it does not have) in two threads, the deletes `offset` seconds after the load starts
    (before it, when negative). The deletes' status codes."""
    answers: list[int] = []
    errors: list[BaseException] = []

    def load() -> None:
        load_dataset(engine, data, dataset_name=f"race-{round_}", tenant_id=tenant.tenant_id)

    def delete() -> None:
        for path in (f"/campaigns/race-{round_}", f"/creators/crt-race-{round_}"):
            answers.append(tenant.delete(path).status_code)
        answers.append(tenant.delete(f"/campaigns/api-only-{round_}").status_code)

    def run(work: Any, wait: float) -> None:
        time.sleep(wait)
        try:
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(load, max(-offset, 0))),
        threading.Thread(target=run, args=(delete, max(offset, 0))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    return answers


def _check_round(tenant: Tenant, engine: Engine, round_: int, statuses: list[int]) -> None:
    campaign, creator, api_only = statuses
    assert campaign in (204, 409), statuses
    assert creator in (204, 409), statuses
    assert api_only == 204  # not in the file, no metric rows: deleted, never brought back
    assert tenant.get(f"/campaigns/api-only-{round_}").status_code == 404
    # deleted first and brought back by the load, or never deleted: names from the file
    item = tenant.get(f"/campaigns/race-{round_}")
    assert item.status_code == 200
    assert item.json()["campaign_name"] == f"Race {round_} (file)"
    assert tenant.get(f"/creators/crt-race-{round_}").status_code == 200
    totals = tenant.get(f"/campaigns/race-{round_}/performance").json()["totals"]
    assert totals["total_impressions"] == 50
    with engine.connect() as connection:
        orphans = connection.execute(text(ORPHANS), {"t": tenant.tenant_id}).all()
    assert orphans == []


def test_deletes_racing_a_load_end_consistent_either_way(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    tenant = new_tenant(make_client)
    engine: Engine = tenant.client.app.state.engine  # type: ignore[attr-defined]
    outcomes: list[tuple[float, int, int]] = []
    for round_, offset in enumerate(OFFSETS):
        created = [
            tenant.post(
                "/campaigns",
                {"campaign_id": f"race-{round_}", "campaign_name": f"Race {round_} (API)"},
            ),
            tenant.post("/creators", {"creator_id": f"crt-race-{round_}", "creator_name": "API"}),
            tenant.post("/campaigns", {"campaign_id": f"api-only-{round_}", "campaign_name": "A"}),
        ]
        assert [answer.status_code for answer in created] == [201, 201, 201]
        data = _data(round_).write(tmp_path / f"race-{round_}")
        statuses = _race(tenant, engine, data, round_, offset)
        _check_round(tenant, engine, round_, statuses)
        outcomes.append((offset, statuses[0], statuses[1]))
    # both outcomes happened: deletes well before the load won, late ones met its metrics
    assert outcomes[0][1] == 204, outcomes
    assert outcomes[-1][1:] == (409, 409), outcomes
