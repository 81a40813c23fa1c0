"""`analytics tenants`, `analytics keys` and `analytics load --tenant`, on a DuckDB file and
on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.cli_support import invoke
from tests.support import VISIBLE_DATA, DataDir

OTHER = DataDir(
    campaigns=[("cmp-001", "Other Launch")],
    creators=[("crt-1", "Kim")],
    metrics=[("2026-01-01", "cmp-001", "crt-1", 40, 4, 1, "8.00", "16.00")],
)


def test_tenants_create_then_list(loadable_url: str) -> None:
    env = {"DATABASE_URL": loadable_url}
    created = invoke(["tenants", "create", "acme", "--name", "Acme Corp"], env=env)
    assert (created.exit_code, created.stdout) == (0, "created tenant 'acme' (Acme Corp)\n")
    listed = invoke(["tenants", "list"], env=env).stdout.splitlines()
    assert listed[0].split() == ["tenant", "name", "created", "(UTC)"]
    assert [line.split()[0] for line in listed[1:]] == ["acme", "default"]


def test_creating_a_tenant_twice_or_with_a_bad_id_is_a_usage_error(loadable_url: str) -> None:
    env = {"DATABASE_URL": loadable_url}
    invoke(["tenants", "create", "acme"], env=env)
    again = invoke(["tenants", "create", "acme"], env=env)
    assert (again.exit_code, again.stderr) == (2, "tenant 'acme' already exists\n")
    bad = invoke(["tenants", "create", "Bad Id"], env=env)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("invalid tenant id 'Bad Id': a tenant id is 1-63 of a-z")


def test_a_key_is_shown_once_and_listed_without_its_secret(loadable_url: str) -> None:
    env = {"DATABASE_URL": loadable_url}
    created = invoke(["keys", "create", "--tenant", "default", "--role", "editor"], env=env)
    key = created.stdout.strip()
    assert created.exit_code == 0
    assert key.startswith("cak_")
    key_id = key.split("_")[1]
    assert f"key {key_id} (editor) of tenant 'default' created" in created.stderr
    listed = invoke(["keys", "list", "--tenant", "default"], env=env)
    assert key_id in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout
    assert "editor" in listed.stdout


def test_revoking_a_key_makes_the_service_refuse_it(loadable_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": loadable_url}
    assert invoke(["load", str(VISIBLE_DATA)], env=env).exit_code == 0
    key = invoke(["keys", "create", "--tenant", "default", "--role", "viewer"], env=env).stdout
    headers = {"Authorization": f"Bearer {key.strip()}"}
    with TestClient(create_app(Settings(database_url=loadable_url, anonymous_tenant=""))) as client:
        assert client.get("/campaigns/cmp-001/performance", headers=headers).status_code == 200
    revoked = invoke(["keys", "revoke", key.split("_")[1]], env=env)
    assert (revoked.exit_code, revoked.stdout) == (0, f"revoked key {key.split('_')[1]}\n")
    again = invoke(["keys", "revoke", key.split("_")[1]], env=env)
    assert (again.exit_code, again.stderr) == (1, f"no active key '{key.split('_')[1]}'\n")
    with TestClient(create_app(Settings(database_url=loadable_url, anonymous_tenant=""))) as client:
        assert client.get("/campaigns/cmp-001/performance", headers=headers).status_code == 401


def test_keys_of_an_unknown_tenant_or_role_are_usage_errors(loadable_url: str) -> None:
    env = {"DATABASE_URL": loadable_url}
    unknown = invoke(["keys", "create", "--tenant", "nobody", "--role", "viewer"], env=env)
    assert (unknown.exit_code, unknown.stderr) == (2, "tenant 'nobody' does not exist\n")
    role = invoke(["keys", "create", "--tenant", "default", "--role", "owner"], env=env)
    assert role.exit_code == 2
    assert "'owner' is not one of 'viewer', 'editor', 'admin'" in role.stderr


def test_load_into_a_tenant_changes_no_other_tenant(loadable_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": loadable_url}
    invoke(["load", str(VISIBLE_DATA)], env=env)
    invoke(["tenants", "create", "other"], env=env)
    loaded = invoke(["load", str(OTHER.write(tmp_path / "o")), "--tenant", "other"], env=env)
    assert loaded.exit_code == 0
    assert loaded.stdout.startswith("published 'o' into tenant 'other': 1 campaigns")
    settings = Settings(database_url=loadable_url, anonymous_tenant="default")
    with TestClient(create_app(settings)) as client:
        body = client.get("/campaigns/cmp-001/performance").json()
        assert (body["campaign_name"], body["totals"]["total_clicks"]) == ("Spring Launch", 212)
    listed = invoke(["datasets", "--tenant", "other"], env=env).stdout.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [["other", "o"]]


def test_load_into_an_unknown_tenant_says_how_to_create_it(loadable_url: str) -> None:
    result = invoke(
        ["load", str(VISIBLE_DATA), "--tenant", "nobody"], env={"DATABASE_URL": loadable_url}
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "tenant 'nobody' does not exist: create it with `analytics tenants create nobody`\n",
    )


def test_load_with_a_malformed_tenant_is_a_usage_error(loadable_url: str) -> None:
    result = invoke(
        ["load", str(VISIBLE_DATA), "--tenant", "No!"], env={"DATABASE_URL": loadable_url}
    )
    assert result.exit_code == 2
    assert "a tenant id is 1-63 of a-z" in result.stderr
