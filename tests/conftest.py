from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import DataDir

CONTRACT_VARIABLES = (
    "DATA_DIR",
    "DATASET_NAME",
    "DATABASE_URL",
    "BENCHMARK_API_BASE",
    "BENCHMARK_FIXTURES_FILE",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the service explicitly; the developer's environment never leaks in."""
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """`make_client(data, **settings)` → a started TestClient over that data.

    `data` is a DataDir (written under tmp_path, its benchmarks.json used as fixture file
    when it has one) or an existing directory path.
    """
    clients: list[TestClient] = []

    def factory(data: DataDir | Path, **overrides: Any) -> TestClient:
        if isinstance(data, DataDir):
            directory = data.write(tmp_path / f"data-{len(clients)}")
            if data.benchmarks is not None:
                overrides.setdefault("benchmark_fixtures_file", directory / "benchmarks.json")
        else:
            directory = data
        settings = Settings(data_dir=directory, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)
