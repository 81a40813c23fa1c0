"""Rate limits in one process (no Redis): per key, by role, anonymous callers by address;
429 with Retry-After and the RateLimit headers on every answer; operations paths exempt."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.domain.access import Role
from tests.conftest import ClientFactory
from tests.integration.catalog_support import Tenant, new_tenant

PATH = "/campaigns/cmp-1/performance"
LIMITS = {
    "rate_limits_enabled": True,
    "rate_limit_anonymous": "2/hour",
    "rate_limit_viewer": "3/hour",
    "rate_limit_editor": "5/hour",
    "rate_limit_admin": "4/minute",
}
_RATELIMIT = re.compile(r'"(?P<name>[a-z]+)";r=(?P<r>[0-9]+);t=(?P<t>[0-9]+)')


@pytest.fixture
def tenant(make_client: ClientFactory) -> Tenant:
    return new_tenant(make_client, **LIMITS)


def _remaining(response) -> tuple[str, int, int]:
    match = _RATELIMIT.fullmatch(response.headers["ratelimit"])
    assert match is not None, response.headers["ratelimit"]
    return match["name"], int(match["r"]), int(match["t"])


def test_the_request_after_the_limit_gets_429_with_retry_after_and_the_headers(
    tenant: Tenant,
) -> None:
    answers = [tenant.get(PATH) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    for answer in answers:
        assert answer.headers["ratelimit-policy"] == '"viewer";q=3;w=3600'
    assert [_remaining(a)[1] for a in answers] == [2, 1, 0, 0]
    refused = answers[-1]
    _, _, reset = _remaining(refused)
    assert 3590 <= reset <= 3600
    assert refused.headers["retry-after"] == str(reset)
    assert refused.json() == {"detail": "rate limit exceeded: 3 requests per 3600 s"}


def test_limits_differ_per_role_and_each_key_counts_apart(tenant: Tenant) -> None:
    editor = [tenant.client.get(PATH, headers=tenant.editor) for _ in range(6)]
    assert [a.status_code for a in editor] == [200] * 5 + [429]
    assert editor[0].headers["ratelimit-policy"] == '"editor";q=5;w=3600'
    # the editor's spent quota is not the viewer's
    assert tenant.get(PATH).status_code == 200
    store = SqlAlchemyAccessStore(tenant.client.app.state.engine)  # type: ignore[attr-defined]
    _, admin = store.create_key(tenant.tenant_id, Role.ADMIN)
    first = tenant.client.get(PATH, headers={"Authorization": f"Bearer {admin}"})
    assert first.headers["ratelimit-policy"] == '"admin";q=4;w=60'
    assert _remaining(first)[1] == 3


def test_anonymous_callers_are_counted_by_address_apart_from_keys(tenant: Tenant) -> None:
    client = tenant.client
    anonymous = [client.get(PATH) for _ in range(3)]
    assert [a.status_code for a in anonymous] == [200, 200, 429]
    assert anonymous[0].headers["ratelimit-policy"] == '"anonymous";q=2;w=3600'
    assert tenant.get(PATH).status_code == 200  # a key still has its own quota
    other_address = TestClient(client.app, client=("10.0.0.7", 1234))
    assert other_address.get(PATH).status_code == 200


def test_refused_credentials_are_counted_against_the_address(tenant: Tenant) -> None:
    bad = {"Authorization": "Bearer cak_not-a-key"}
    answers = [tenant.client.get(PATH, headers=bad) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[0].headers["ratelimit-policy"] == '"anonymous";q=2;w=3600'
    assert answers[0].headers["www-authenticate"] == "Bearer"


def test_every_answer_carries_the_headers_errors_and_writes_included(tenant: Tenant) -> None:
    for response in (
        tenant.client.get("/campaigns/cmp-404/performance", headers=tenant.editor),
        tenant.client.get("/creators/top?limit=0", headers=tenant.editor),
        tenant.patch("/campaigns/cmp-2", {"status": "paused"}),
    ):
        assert response.status_code in {404, 422, 200}
        assert response.headers["ratelimit-policy"] == '"editor";q=5;w=3600'
        assert _remaining(response)[0] == "editor"


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs"])
def test_operations_paths_are_never_limited(tenant: Tenant, path: str) -> None:
    answers = [tenant.client.get(path) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert all("ratelimit" not in a.headers for a in answers)


def test_a_304_counts_and_carries_the_headers(tenant: Tenant) -> None:
    tag = tenant.get(PATH).headers["etag"]
    again = tenant.client.get(PATH, headers={**tenant.viewer, "If-None-Match": tag})
    assert again.status_code == 304
    assert _remaining(again)[1] == 1
