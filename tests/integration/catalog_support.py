"""A tenant of its own per test, with editor and viewer keys, on either engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.domain.access import Role
from tests.conftest import ClientFactory
from tests.support import DataDir

SMALL = DataDir(
    campaigns=[("cmp-1", "One"), ("cmp-2", "Two")],
    creators=[("crt-1", "Ann"), ("crt-2", "Bob")],
    metrics=[
        ("2026-01-01", "cmp-1", "crt-1", 100, 1, 0, "10.00", "1.00"),
        ("2026-01-02", "cmp-1", "crt-1", 100, 5, 1, "10.00", "50.00"),
    ],
    benchmarks={"cmp-1": {"min_ctr": 0.03, "min_roas": 1.0}},
)


@dataclass
class Tenant:
    client: TestClient
    tenant_id: str
    editor: dict[str, str]
    viewer: dict[str, str]

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(path, json=body, headers={**self.editor, **headers})

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(path, json=body, headers={**self.editor, **headers})

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.put(path, json=body, headers={**self.editor, **headers})

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete(path, headers={**self.editor, **headers})

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.viewer)


def new_tenant(make_client: ClientFactory, data: DataDir = SMALL, **settings: Any) -> Tenant:
    """A client whose data directory is loaded into a new tenant, with keys for it."""
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    client = make_client(data, anonymous_tenant=tenant_id, **settings)
    return with_keys(client, tenant_id)


def with_keys(client: TestClient, tenant_id: str) -> Tenant:
    store = SqlAlchemyAccessStore(client.app.state.engine)  # type: ignore[attr-defined]
    if tenant_id not in {tenant.tenant_id for tenant in store.tenants()}:
        store.create_tenant(tenant_id)
    _, editor = store.create_key(tenant_id, Role.EDITOR)
    _, viewer = store.create_key(tenant_id, Role.VIEWER)
    return Tenant(
        client,
        tenant_id,
        {"Authorization": f"Bearer {editor}"},
        {"Authorization": f"Bearer {viewer}"},
    )


def walk(tenant: Tenant, path: str, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor to the end."""
    pages, cursor = [], None
    for _ in range(100_000):
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        answer = tenant.get(path, **params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["items"])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return pages
        cursor = body["next_cursor"]
    raise AssertionError("the walk did not end")
