"""Two served processes sharing PostgreSQL and Redis: a load or a write between two
identical requests changes the second answer on the other process, tenants never get each
other's answers, 304 across processes, and the rate limit is counted across both."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from analytics.adapters import migrations
from analytics.domain.access import Role
from tests.conftest import new_postgres_database
from tests.integration.served_process import ServedProcess
from tests.integration.serving_support import (
    Keys,
    OwnRedis,
    cli_load,
    get,
    new_tenant,
    small_data,
    two_servers,
)

PATH = "/campaigns/cmp-1/performance"
HIT = "analytics; hit"
STORED = "analytics; fwd=miss; stored"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    url, drop = new_postgres_database("analytics_serving")
    engine = create_engine(url)
    migrations.upgrade(engine)
    yield url, engine
    engine.dispose()
    drop()


@pytest.fixture(scope="module")
def servers(
    database: tuple[str, Engine], redis_url_module: str
) -> Iterator[tuple[ServedProcess, ServedProcess]]:
    url, _ = database
    with two_servers(
        DATABASE_URL=url,
        REDIS_URL=redis_url_module,
        RATE_LIMITS_ENABLED="true",
        RATE_LIMIT_VIEWER="4/hour",
        RATE_LIMIT_EDITOR="10000/hour",
        RATE_LIMIT_ADMIN="6/hour",
    ) as pair:
        yield pair


@pytest.fixture
def tenant(database: tuple[str, Engine], tmp_path: Path) -> Keys:
    url, engine = database
    return new_tenant(engine, url, small_data("Spring"), tmp_path / "spring")


def test_an_answer_made_on_one_process_is_served_by_the_other(servers, tenant: Keys) -> None:
    one, other = servers
    made = get(one, PATH, tenant.editor)
    assert made.status_code == 200, made.text
    assert made.headers["cache-status"] == STORED
    served = get(other, PATH, tenant.editor)
    assert served.headers["cache-status"] == HIT
    assert served.content == made.content
    assert served.headers["etag"] == made.headers["etag"]


def test_a_load_between_two_requests_changes_the_second_answer_on_the_other_process(
    servers, tenant: Keys, database: tuple[str, Engine], tmp_path: Path
) -> None:
    one, other = servers
    before = get(one, PATH, tenant.editor).json()
    assert get(other, PATH, tenant.editor).headers["cache-status"] == HIT
    cli_load(database[0], small_data("Spring", clicks=50).write(tmp_path / "v2"), tenant.tenant_id)
    after = get(other, PATH, tenant.editor)
    assert after.headers["cache-status"] == STORED
    assert before["totals"]["total_clicks"] == 6
    assert after.json()["totals"]["total_clicks"] == 51
    assert get(one, PATH, tenant.editor).json() == after.json()


def test_a_catalog_write_on_one_process_is_in_the_next_answer_of_the_other(
    servers, tenant: Keys
) -> None:
    one, other = servers
    assert get(other, PATH, tenant.editor).json()["campaign_name"] == "Spring"
    assert get(other, PATH, tenant.editor).headers["cache-status"] == HIT
    renamed = httpx.patch(
        f"http://127.0.0.1:{one.port}/campaigns/cmp-1",
        json={"campaign_name": "Summer"},
        headers=tenant.editor,
        timeout=10,
    )
    assert renamed.status_code == 200, renamed.text
    assert get(other, PATH, tenant.editor).json()["campaign_name"] == "Summer"
    thresholds = httpx.put(
        f"http://127.0.0.1:{other.port}/campaigns/cmp-1/thresholds",
        json={"min_ctr": 0.9, "min_roas": 9.0},
        headers=tenant.editor,
        timeout=10,
    )
    assert thresholds.status_code == 200
    anomalies = get(one, "/campaigns/cmp-1/anomalies", tenant.editor).json()
    assert anomalies["thresholds"] == {"min_ctr": 0.9, "min_roas": 9.0}


def test_a_tenant_never_receives_another_tenants_answer_across_processes(
    servers, database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    one, other = servers
    spring = new_tenant(engine, url, small_data("Spring"), tmp_path / "a")
    autumn = new_tenant(engine, url, small_data("Autumn", clicks=9), tmp_path / "b")
    for first, second in ((one, other), (other, one)):
        mine = get(first, PATH, spring.editor)
        theirs = get(second, PATH, autumn.editor)
        assert mine.json()["campaign_name"] == "Spring"
        assert theirs.json()["campaign_name"] == "Autumn"
        assert theirs.json()["totals"]["total_clicks"] == 10
    tag = get(one, PATH, spring.editor).headers["etag"]
    response = get(other, PATH, {**autumn.editor, "If-None-Match": tag})
    assert response.status_code == 200
    assert response.json()["campaign_name"] == "Autumn"


def test_a_matching_if_none_match_gets_304_on_either_process(servers, tenant: Keys) -> None:
    one, other = servers
    tag = get(one, PATH, tenant.editor).headers["etag"]
    for server in (one, other):
        response = get(server, PATH, {**tenant.editor, "If-None-Match": tag})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == tag


_RATELIMIT = re.compile(r'"(?P<name>[a-z]+)";r=(?P<r>[0-9]+);t=(?P<t>[0-9]+)')


def test_the_request_after_the_limit_is_refused_across_both_processes(
    servers, tenant: Keys, database: tuple[str, Engine]
) -> None:
    one, other = servers
    answers = [get((one, other)[n % 2], PATH, tenant.viewer) for n in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    remaining = [_RATELIMIT.fullmatch(a.headers["ratelimit"]) for a in answers]
    assert [int(m["r"]) for m in remaining if m] == [3, 2, 1, 0, 0]
    refused = answers[-1]
    assert refused.headers["ratelimit-policy"] == '"viewer";q=4;w=3600'
    assert refused.headers["retry-after"] == remaining[-1]["t"]  # type: ignore[index]
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    # another key of the same tenant and role has a quota of its own; other roles other limits
    assert get(other, PATH, tenant.new(database[1], Role.VIEWER)).status_code == 200
    admin = get(one, PATH, tenant.admin)
    assert admin.headers["ratelimit-policy"] == '"admin";q=6;w=3600'


def test_health_reports_redis_on_both_processes(servers) -> None:
    for server in servers:
        body = server.get("/health").json()
        assert body["cache"] == "ok"
        assert "ratelimit" not in server.get("/health").headers


def _wait_for(condition, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.1)


def _remaining(response: httpx.Response) -> int:
    match = _RATELIMIT.fullmatch(response.headers["ratelimit"])
    assert match is not None
    return int(match["r"])


def _rename(server: ServedProcess, tenant: Keys, name: str) -> None:
    renamed = httpx.patch(
        f"http://127.0.0.1:{server.port}/campaigns/cmp-1",
        json={"campaign_name": name},
        headers=tenant.editor,
        timeout=10,
    )
    assert renamed.status_code == 200, renamed.text


def test_redis_killed_mid_run_degrades_to_the_database_then_recovers_on_its_own(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    tenant = new_tenant(engine, url, small_data("Spring"), tmp_path / "spring")
    own = OwnRedis()
    own.start()
    try:
        with two_servers(
            DATABASE_URL=url,
            REDIS_URL=own.url,
            RATE_LIMITS_ENABLED="true",
            RATE_LIMIT_VIEWER="100/hour",
            REDIS_TIMEOUT="0.2",
        ) as (one, other):
            made = get(one, PATH, tenant.viewer)
            assert made.headers["cache-status"] == STORED
            assert _remaining(made) == 99
            shared = get(other, PATH, tenant.viewer)
            assert shared.headers["cache-status"] == HIT
            assert _remaining(shared) == 98  # one counter for both processes

            own.kill()
            for server in (one, other):
                started = time.monotonic()
                answer = get(server, PATH, tenant.viewer)
                assert time.monotonic() - started < 3
                assert answer.status_code == 200
                assert answer.content == made.content
                assert answer.headers["cache-status"] == HIT  # the process's own copy
                assert _remaining(answer) == 99  # counted in this process only
                health = server.get("/health").json()
                assert health["cache"] == "error"
                assert health["database"] == "ok"  # status does not count Redis
            _rename(one, tenant, "Renamed")
            for server in (one, other):  # a new version: made from the database, not shared
                answer = get(server, PATH, tenant.viewer)
                assert answer.json()["campaign_name"] == "Renamed"
                assert answer.headers["cache-status"] == "analytics; fwd=miss"

            own.start()  # the same address, empty: no restart of the service
            for server in (one, other):
                _wait_for(lambda s=server: s.get("/health").json()["cache"] == "ok", "cache ok")
            _rename(other, tenant, "Back")
            stored = get(one, PATH, tenant.viewer)
            assert stored.headers["cache-status"] == STORED  # in Redis again
            again = get(other, PATH, tenant.viewer)
            assert again.headers["cache-status"] == HIT
            assert again.json()["campaign_name"] == "Back"
            fresh = tenant.new(engine, Role.VIEWER)  # counted in Redis again, across both
            assert _remaining(get(one, PATH, fresh)) == 99
            assert _remaining(get(other, PATH, fresh)) == 98
    finally:
        own.kill()
