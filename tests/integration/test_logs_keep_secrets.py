"""Served JSON logs: one object per line with the access fields, and no API key, bad key
or Authorization header in any line the CLI or the service writes, at DEBUG."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.served_process import analytics_script, clean_environment, served
from tests.support import VISIBLE_DATA

SERVE = [analytics_script(), "serve", "--port", "{port}"]
ACCESS_FIELDS = {"time", "level", "logger", "message", "request_id", "method", "route"}
ACCESS_FIELDS |= {"path", "status", "duration_ms"}


def run(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [analytics_script(), *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A DuckDB file with the sample data and a viewer key; the key, a wrong key of the
    same shape, and everything the commands and a served process logged at DEBUG."""
    url = f"duckdb:///{tmp_path_factory.mktemp('keys') / 'analytics.duckdb'}"
    env = clean_environment(DATABASE_URL=url, LOG_LEVEL="DEBUG", ANONYMOUS_TENANT="")
    loaded = run("load", str(VISIBLE_DATA), env=env)
    assert loaded.returncode == 0, loaded.stderr
    created = run("keys", "create", "--tenant", "default", "--role", "viewer", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    wrong = key[:-4] + ("0000" if not key.endswith("0000") else "1111")
    with served(SERVE, env) as server:
        answers = [
            server.get_with("/campaigns/cmp-001/performance", key, "good-key-1"),
            server.get_with("/campaigns/cmp-001/performance", wrong, "bad-key-1"),
            server.get_with(f"/campaigns/cmp-001/performance?api_key={key}", None, "query-1"),
            server.get_with("/campaigns/cmp-001/performance", f"{key} extra", "two-words-1"),
        ]
        assert [answer.status_code for answer in answers] == [200, 401, 401, 401]
    return {
        "key": key,
        "wrong": wrong,
        "cli": loaded.stderr + created.stderr,
        "served": server.stderr,
    }


def test_no_key_material_is_logged(session: dict[str, str]) -> None:
    logged = session["cli"] + session["served"]
    secret_part = session["key"].split("_", 2)[-1]

    assert session["key"] not in logged
    assert secret_part not in logged
    assert session["wrong"].split("_", 2)[-1] not in logged
    assert "Bearer" not in logged
    assert "authorization" not in logged.lower()


def test_every_served_line_is_one_json_object(session: dict[str, str]) -> None:
    lines = session["served"].splitlines()

    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set.intersection(*map(set, records))
    assert {record["level"] for record in records} >= {"DEBUG", "INFO"}


def test_the_access_lines_carry_request_id_tenant_route_status_duration(
    session: dict[str, str],
) -> None:
    records = [json.loads(line) for line in session["served"].splitlines()]
    access = {r["request_id"]: r for r in records if r["logger"] == "analytics.access"}

    good = access["good-key-1"]
    assert set(good) >= ACCESS_FIELDS
    assert (good["tenant"], good["status"], good["method"]) == ("default", 200, "GET")
    assert good["route"] == "/campaigns/{campaign_id}/performance"
    assert good["path"] == "/campaigns/cmp-001/performance"
    assert good["duration_ms"] >= 0
    assert (access["bad-key-1"]["status"], access["bad-key-1"].get("tenant")) == (401, None)
    assert access["query-1"]["path"] == "/campaigns/cmp-001/performance"  # no query string


def test_the_cli_writes_json_lines_too(session: dict[str, str]) -> None:
    lines = [line for line in session["cli"].splitlines() if line.startswith("{")]

    assert lines
    assert all(json.loads(line)["level"] for line in lines)
