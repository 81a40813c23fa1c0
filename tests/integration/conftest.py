from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.benchmark_server import BenchmarkServer, refused_port, running_server


@pytest.fixture
def benchmark_server() -> Iterator[BenchmarkServer]:
    """A real benchmark service on 127.0.0.1; each test scripts what it answers."""
    with running_server() as server:
        yield server


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port where nothing listens (connections are refused)."""
    with refused_port() as port:
        yield port
