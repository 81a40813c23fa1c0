"""Tenants, API keys and roles through the HTTP API (CONTRACT.md §6), on both engines.

Tenant `default` holds data/visible (read anonymously, as Part I); tenant `acme` holds its
own `cmp-001` with other names and numbers, and a campaign `default` does not have.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.api.app import create_app
from analytics.domain.access import Role
from analytics.settings import Settings
from tests.support import VISIBLE_DATA, DataDir

ACME = DataDir(
    campaigns=[("cmp-001", "Acme Launch"), ("cmp-acme", "Acme Only")],
    creators=[("crt-001", "Acme Avery")],
    metrics=[
        ("2026-02-01", "cmp-001", "crt-001", 1000, 10, 1, "50.00", "20.00"),
        ("2026-02-01", "cmp-acme", "crt-001", 100, 1, 0, "5.00", None),
    ],
)


@dataclass
class Tenancy:
    client: TestClient
    engine: Engine
    keys: dict[tuple[str, Role], str]

    def headers(self, tenant: str, role: Role = Role.VIEWER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[(tenant, role)]}"}


def _tenancy(tmp_path: Path, database_url: str | None, **settings: object) -> Tenancy:
    app = create_app(
        Settings(
            data_dir=VISIBLE_DATA,
            database_url=database_url,
            benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
            **settings,
        )
    )
    engine = app.state.engine
    store = SqlAlchemyAccessStore(engine)
    tenant = f"acme-{uuid.uuid4().hex[:12]}"  # PostgreSQL: the session's database is shared
    store.create_tenant(tenant, "Acme")
    load_dataset(engine, ACME.write(tmp_path / "acme"), dataset_name="acme", tenant_id=tenant)
    keys = {
        (name, role): store.create_key(real, role, f"{role} key")[1]
        for name, real in (("default", "default"), ("acme", tenant))
        for role in Role
    }
    return Tenancy(TestClient(app, raise_server_exceptions=False), engine, keys)


@pytest.fixture
def tenancy(tmp_path: Path, database_url: str | None) -> Tenancy:
    return _tenancy(tmp_path, database_url)


@pytest.fixture
def closed(tmp_path: Path, database_url: str | None) -> Tenancy:
    """Anonymous access off: every request needs a key."""
    return _tenancy(tmp_path, database_url, anonymous_tenant="")


def test_anonymous_requests_read_the_data_dir_tenant_as_part_one_says(tenancy: Tenancy) -> None:
    body = tenancy.client.get("/campaigns/cmp-001/performance").json()
    assert (body["campaign_name"], body["totals"]["total_impressions"]) == ("Spring Launch", 5000)


def test_each_tenant_sees_only_its_own_campaign_of_the_same_id(tenancy: Tenancy) -> None:
    acme = tenancy.client.get("/campaigns/cmp-001/performance", headers=tenancy.headers("acme"))
    default = tenancy.client.get(
        "/campaigns/cmp-001/performance", headers=tenancy.headers("default")
    )
    assert acme.json()["campaign_name"] == "Acme Launch"
    assert acme.json()["totals"]["total_impressions"] == 1000
    assert default.json()["campaign_name"] == "Spring Launch"
    top = tenancy.client.get(
        "/creators/top", params={"campaign_id": "cmp-001"}, headers=tenancy.headers("acme")
    )
    assert [c["creator_name"] for c in top.json()["creators"]] == ["Acme Avery"]


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/{id}/performance",
        "/campaigns/{id}/anomalies",
        "/creators/top?campaign_id={id}",
    ],
)
def test_another_tenants_campaign_is_exactly_as_absent_as_a_missing_one(
    tenancy: Tenancy, path: str
) -> None:
    foreign = tenancy.client.get(path.format(id="cmp-acme"), headers=tenancy.headers("default"))
    missing = tenancy.client.get(path.format(id="cmp-nope"), headers=tenancy.headers("default"))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == {"detail": "campaign 'cmp-acme' not found"}
    assert foreign.headers.keys() == missing.headers.keys()


UNAUTHENTICATED = {"detail": "authentication required"}


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
        "Bearer cak_aaaaaaaaaaaaaaaa_" + "b" * 43,
        "Bearer " + "x" * 10_000,
    ],
)
def test_every_bad_credential_is_401_with_nothing_echoed(
    closed: Tenancy, authorization: str
) -> None:
    response = closed.client.get(
        "/campaigns/cmp-001/performance", headers={"Authorization": authorization}
    )
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert response.headers["www-authenticate"] == "Bearer"
    assert len(response.content) < 100


def test_non_ascii_bytes_in_the_header_are_401(closed: Tenancy) -> None:
    response = closed.client.get(
        "/campaigns/cmp-001/performance",
        headers=[(b"Authorization", b"Bearer \xff\xfe\x80")],
    )
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)


def test_without_anonymous_access_no_credentials_is_401(closed: Tenancy) -> None:
    response = closed.client.get("/campaigns/cmp-001/performance")
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert response.headers["www-authenticate"] == "Bearer"
    assert closed.client.get("/health").status_code == 200
    assert closed.client.get("/openapi.json").status_code == 200
    assert closed.client.get("/docs").status_code == 200


def test_a_valid_key_reads_even_when_anonymous_access_is_off(closed: Tenancy) -> None:
    response = closed.client.get(
        "/campaigns/cmp-001/performance", headers=closed.headers("default")
    )
    assert response.status_code == 200


def test_a_revoked_key_is_401_within_five_seconds(closed: Tenancy) -> None:
    headers = closed.headers("acme")
    assert closed.client.get("/campaigns/cmp-001/performance", headers=headers).status_code == 200
    key_id = closed.keys[("acme", Role.VIEWER)].split("_")[1]
    assert SqlAlchemyAccessStore(closed.engine).revoke_key(key_id)
    revoked_at = time.monotonic()
    while closed.client.get("/campaigns/cmp-001/performance", headers=headers).status_code == 200:
        assert time.monotonic() - revoked_at < 5, "the revoked key still works after 5 s"
        time.sleep(0.1)
    response = closed.client.get("/campaigns/cmp-001/performance", headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_managing_keys_below_admin_is_403(tenancy: Tenancy, role: Role) -> None:
    headers = tenancy.headers("acme", role)
    created = tenancy.client.post("/keys", json={"role": "viewer"}, headers=headers)
    assert created.status_code == 403
    assert "admin" in created.json()["detail"]
    assert tenancy.client.get("/keys", headers=headers).status_code == 403


def test_anonymous_callers_cannot_manage_keys(tenancy: Tenancy) -> None:
    assert tenancy.client.get("/keys").status_code == 403


def test_an_admin_manages_its_own_tenants_keys_only(tenancy: Tenancy) -> None:
    admin = tenancy.headers("acme", Role.ADMIN)
    created = tenancy.client.post("/keys", json={"role": "viewer", "key_name": "ci"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("cak_")
    assert created.headers["location"] == f"/keys/{body['key_id']}"
    listed = tenancy.client.get("/keys", headers=admin).json()["items"]
    assert body["key_id"] in {key["key_id"] for key in listed}
    assert len(listed) == len(Role) + 1
    assert all("key" not in key and "secret_sha256" not in key for key in listed)
    new_key = {"Authorization": f"Bearer {body['key']}"}
    reads = tenancy.client.get("/campaigns/cmp-acme/performance", headers=new_key)
    assert reads.status_code == 200
    default_key_id = tenancy.keys[("default", Role.VIEWER)].split("_")[1]
    foreign = tenancy.client.delete(f"/keys/{default_key_id}", headers=admin)
    assert (foreign.status_code, foreign.json()) == (
        404,
        {"detail": f"key '{default_key_id}' not found"},
    )
    assert tenancy.client.delete(f"/keys/{body['key_id']}", headers=admin).status_code == 204
    assert tenancy.client.delete(f"/keys/{body['key_id']}", headers=admin).status_code == 404


def test_openapi_declares_the_bearer_scheme_for_the_authorize_button(tenancy: Tenancy) -> None:
    document = tenancy.client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    performance = document["paths"]["/campaigns/{campaign_id}/performance"]["get"]
    assert performance["security"] == [{"apiKey": []}]
    assert "security" not in document["paths"]["/health"]["get"]
