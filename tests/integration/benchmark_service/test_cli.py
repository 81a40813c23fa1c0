"""`analytics benchmarks migrate|load|serve`: as a user runs them, and served for real."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from analytics.benchmark_service.schema import LATEST_VERSION, current_version
from analytics.benchmark_service.storage import SqlThresholdStore, create_storage_engine
from analytics.benchmark_service.thresholds import Thresholds
from tests.cli_support import invoke
from tests.integration.benchmark_service.conftest import OPERATOR, OPERATOR_TOKEN
from tests.integration.served_process import analytics_script, clean_environment, served
from tests.support import VISIBLE_DATA

SAMPLE = VISIBLE_DATA / "benchmarks.json"


def stored(url: str) -> dict[str, Thresholds]:
    engine = create_storage_engine(url)
    try:
        store = SqlThresholdStore(engine)
        ids = json.loads(SAMPLE.read_text()) | {"cmp-new": None, "cmp-op": None}
        return {key: value for key in ids if (value := store.get(key)) is not None}
    finally:
        engine.dispose()


def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def test_load_stores_the_file_and_is_idempotent(benchmarks_url: str) -> None:
    first = invoke(["benchmarks", "load", str(SAMPLE), "--database-url", benchmarks_url])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == f"stored thresholds of 6 campaign(s) from '{SAMPLE}'\n"
    expected = {
        campaign_id: Thresholds(str(values["min_ctr"]), str(values["min_roas"]))
        for campaign_id, values in json.loads(SAMPLE.read_text()).items()
    }
    assert stored(benchmarks_url) == expected
    again = invoke(["benchmarks", "load", str(SAMPLE), "--database-url", benchmarks_url])
    assert again.exit_code == 0
    assert stored(benchmarks_url) == expected


def test_load_replaces_the_campaigns_of_the_file_and_keeps_the_others(
    benchmarks_url: str, tmp_path: Path
) -> None:
    invoke(["benchmarks", "load", str(SAMPLE), "--database-url", benchmarks_url])
    change = write(tmp_path / "change.json", {"cmp-001": {"min_ctr": 0.5, "min_roas": 5}})
    result = invoke(["benchmarks", "load", str(change), "--database-url", benchmarks_url])
    assert result.exit_code == 0
    now = stored(benchmarks_url)
    assert now["cmp-001"] == Thresholds("0.5", "5")
    assert now["cmp-002"] == Thresholds("0.03", "2.5")
    assert len(now) == 6


def test_refused_file_exits_1_naming_the_campaign_and_changes_nothing(
    benchmarks_url: str, tmp_path: Path
) -> None:
    invoke(["benchmarks", "load", str(SAMPLE), "--database-url", benchmarks_url])
    bad = write(
        tmp_path / "bad.json",
        {"cmp-001": {"min_ctr": 0.9, "min_roas": 9}, "cmp-002": {"min_ctr": -1, "min_roas": 1}},
    )
    result = invoke(["benchmarks", "load", str(bad), "--database-url", benchmarks_url])
    assert result.exit_code == 1
    assert result.stderr == f"'{bad}', campaign 'cmp-002': 'min_ctr' must not be negative\n"
    assert stored(benchmarks_url)["cmp-001"] == Thresholds("0.042", "3.6")


def test_migrate_creates_the_schema_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    for _ in range(2):
        result = invoke(["benchmarks", "migrate", "--database-url", url])
        assert (result.exit_code, result.stdout) == (0, "benchmark schema is up to date\n")
    engine = create_storage_engine(url)
    with engine.connect() as connection:
        assert current_version(connection) == LATEST_VERSION
    engine.dispose()


def test_database_url_comes_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = invoke(["benchmarks", "load", str(SAMPLE)], env={"BENCHMARKS_DATABASE_URL": url})
    assert result.exit_code == 0
    assert len(stored(url)) == 6


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "configuration error: BENCHMARKS_DATABASE_URL: unsupported database URL"),
        ("sqlite:///:memory:", "configuration error: BENCHMARKS_DATABASE_URL: an in-memory"),
    ],
)
def test_unsupported_database_url_exits_2_naming_the_variable(url: str, message: str) -> None:
    result = invoke(["benchmarks", "migrate", "--database-url", url])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_unreachable_database_exits_3_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/benchmarks"
    result = invoke(["benchmarks", "load", str(SAMPLE), "--database-url", url])
    assert result.exit_code == 3
    assert result.stderr.startswith("benchmark database postgresql+psycopg://someone:***@")
    assert "s3cret-pw" not in result.stderr


def test_serve_seeds_missing_campaigns_and_keeps_operator_edits_across_restarts(
    benchmarks_url: str,
) -> None:
    env = clean_environment(
        BENCHMARKS_DATABASE_URL=benchmarks_url, BENCHMARKS_OPERATOR_TOKEN=OPERATOR_TOKEN
    )
    command = [analytics_script(), "benchmarks", "serve", "--port", "{port}", "--seed", str(SAMPLE)]
    with served(command, env) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert server.get("/benchmarks/cmp-002").content == b'{"min_ctr": 0.03, "min_roas": 2.5}'
        edited = httpx.put(
            f"{base}/benchmarks/cmp-002", json={"min_ctr": 0.1, "min_roas": 1}, headers=OPERATOR
        )
        assert edited.status_code == 200
    with served(command, env) as server:
        assert server.get("/benchmarks/cmp-002").json() == {"min_ctr": 0.1, "min_roas": 1}
        assert server.get("/benchmarks/cmp-001").json() == {"min_ctr": 0.042, "min_roas": 3.6}
        assert server.get("/health").json() == {"status": "ok", "database": "ok"}
    assert "seeded 0 of 6 campaign(s)" in server.stderr


def test_concurrent_puts_of_a_new_campaign_create_it_exactly_once(benchmarks_url: str) -> None:
    env = clean_environment(
        BENCHMARKS_DATABASE_URL=benchmarks_url, BENCHMARKS_OPERATOR_TOKEN=OPERATOR_TOKEN
    )
    command = [analytics_script(), "benchmarks", "serve", "--port", "{port}"]
    with served(command, env) as server:
        url = f"http://127.0.0.1:{server.port}/benchmarks/cmp-new"

        def put(index: int) -> int:
            body = {"min_ctr": index / 100, "min_roas": index}
            return httpx.put(url, json=body, headers=OPERATOR, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(pool.map(put, range(1, 17)))
        assert statuses == [200] * 15 + [201]
        final = server.get("/benchmarks/cmp-new").json()
        assert final["min_roas"] in range(1, 17)
        assert final["min_ctr"] == final["min_roas"] / 100


def test_serve_refuses_an_invalid_seed_file_before_listening(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", {"cmp-1": {"min_ctr": 1}})
    result = invoke(
        ["benchmarks", "serve", "--seed", str(bad)],
        env={"BENCHMARKS_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"},
    )
    assert result.exit_code == 1
    assert "campaign 'cmp-1': missing field(s): 'min_roas'" in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_short_operator_token_exits_2_naming_the_variable_not_the_token(tmp_path: Path) -> None:
    env = {
        "BENCHMARKS_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BENCHMARKS_OPERATOR_TOKEN": "tiny-secret",
    }
    result = invoke(["benchmarks", "serve"], env=env)
    assert result.exit_code == 2
    assert result.stderr == (
        "configuration error: BENCHMARKS_OPERATOR_TOKEN: must be at least 16 characters\n"
    )
