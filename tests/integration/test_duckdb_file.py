"""A DuckDB file as DATABASE_URL: load once with `analytics load`, then serve it as is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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

    settings = Settings(database_url=url, benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["dataset"] == "visible"
        totals = client.get("/campaigns/cmp-001/performance").json()["totals"]
        assert (totals["total_clicks"], totals["roas"]) == (212, 3.6292)
