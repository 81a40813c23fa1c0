"""A DuckDB file as DATABASE_URL: load once with `analytics load`, then serve it as is."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import VISIBLE_DATA


def test_loaded_duckdb_file_is_served_without_data_dir(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'analytics.duckdb'}"
    command = [sys.executable, "-m", "analytics", "load", str(VISIBLE_DATA), "--database-url", url]
    env = {k: v for k, v in os.environ.items() if k not in {"DATA_DIR", "DATABASE_URL"}}
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "published 'visible'" in first.stdout
    assert "nothing to do" in again.stdout

    settings = Settings(
        database_url=url,
        anonymous_tenant="default",
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["dataset"] == "visible"
        totals = client.get("/campaigns/cmp-001/performance").json()["totals"]
        assert (totals["total_clicks"], totals["roas"]) == (212, 3.6292)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_several_workers_share_one_duckdb_file(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATA_DIR", "DATABASE_URL"}},
        "DATA_DIR": str(VISIBLE_DATA),
        "DATABASE_URL": f"duckdb:///{tmp_path / 'shared.duckdb'}",
    }
    command = [sys.executable, "-m", "analytics", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        answers = []
        while time.monotonic() < deadline and len(answers) < 20:
            try:
                answers.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json())
            except httpx.HTTPError:
                time.sleep(0.2)
        assert len(answers) == 20, "the workers never answered"
        assert {answer["database"] for answer in answers} == {"ok"}
    finally:
        server.terminate()
        server.wait(timeout=20)
