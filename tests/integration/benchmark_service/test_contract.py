"""The analytics gateway against both sides of CONTRACT.md §3, with the same assertions.

One side is the real benchmark service (`analytics benchmarks serve`, a process on loopback);
the other is the scriptable fault server the gateway's own tests use
(`tests/integration/benchmark_server.py`). Each scenario is stated once, as what the
benchmark service holds, and each side is told it in its own way: the real service through
its operator API, the fault server by scripting what the real service answers. The same
assertions then hold on both, so the fake cannot drift away from the service it stands for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

import httpx
import pytest
from fastapi.testclient import TestClient

from analytics.adapters.benchmark_gateways import HttpxBenchmarkGateway, RetryPolicy
from analytics.api.app import create_app
from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.models import ComponentStatus, Thresholds
from analytics.settings import Settings
from tests.integration.benchmark_server import BenchmarkServer, json_reply, thresholds_reply
from tests.integration.benchmark_service.conftest import OPERATOR, OPERATOR_TOKEN, path_of
from tests.integration.served_process import (
    ServedProcess,
    analytics_script,
    clean_environment,
    served,
)
from tests.support import VISIBLE_DATA

POLICY = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02, time_budget=5.0)
SPECIAL_IDS = ["cmp-ü", "a/b", "..", ".", "sp ace", "q?x=1#f", "%2F", "x" * 255]


class Side(Protocol):
    """A benchmark service the gateway talks to, told what it holds."""

    base_url: str

    def holds(self, campaign_id: str, min_ctr: str, min_roas: str) -> None: ...

    def lacks(self, campaign_id: str) -> None: ...

    def received(self, campaign_id: str) -> None:
        """Asserts the last request the side saw named `campaign_id` (where it can tell)."""


class RealService:
    def __init__(self, server: ServedProcess) -> None:
        self.base_url = f"http://127.0.0.1:{server.port}"

    def _path(self, campaign_id: str) -> str:
        return self.base_url + path_of(campaign_id)

    def holds(self, campaign_id: str, min_ctr: str, min_roas: str) -> None:
        body = f'{{"min_ctr": {min_ctr}, "min_roas": {min_roas}}}'
        response = httpx.put(self._path(campaign_id), content=body, headers=OPERATOR)
        assert response.status_code in (200, 201), response.text

    def lacks(self, campaign_id: str) -> None:
        response = httpx.delete(self._path(campaign_id), headers=OPERATOR)
        assert response.status_code in (204, 404), response.text

    def received(self, campaign_id: str) -> None:
        pass  # the thresholds it answered were those stored under that very id


class FaultServer:
    def __init__(self, server: BenchmarkServer) -> None:
        self.base_url = server.base_url
        self._server = server

    def holds(self, campaign_id: str, min_ctr: str, min_roas: str) -> None:
        self._server.script(thresholds_reply(min_ctr, min_roas))

    def lacks(self, campaign_id: str) -> None:
        self._server.script(json_reply({"detail": f"no benchmarks for campaign '{campaign_id}'"},
                                       status=404))  # fmt: skip

    def received(self, campaign_id: str) -> None:
        raw = self._server.benchmark_requests[-1]
        assert unquote(raw.removeprefix("/benchmarks/")) == campaign_id
        assert "/" not in raw.removeprefix("/benchmarks/")


@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'benchmarks.db'}"
    env = clean_environment(BENCHMARKS_DATABASE_URL=url, BENCHMARKS_OPERATOR_TOKEN=OPERATOR_TOKEN)
    seed = str(VISIBLE_DATA / "benchmarks.json")
    command = [analytics_script(), "benchmarks", "serve", "--port", "{port}", "--seed", seed]
    with served(command, env) as server:
        yield server


@pytest.fixture(params=["real-service", "fault-server"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "real-service":
        return RealService(request.getfixturevalue("real_service"))
    return FaultServer(request.getfixturevalue("benchmark_server"))


@pytest.fixture
async def gateway(side: Side) -> AsyncIterator[HttpxBenchmarkGateway]:
    async with httpx.AsyncClient(base_url=side.base_url, timeout=2.0) as client:
        yield HttpxBenchmarkGateway(lambda: client, POLICY)


@pytest.mark.parametrize(("min_ctr", "min_roas"), [("0.03", "2.5"), ("0", "3"), ("0.0425", "1E+2")])
async def test_stored_thresholds_reach_the_gateway_exactly(
    side: Side, gateway: HttpxBenchmarkGateway, min_ctr: str, min_roas: str
) -> None:
    side.holds("cmp-contract", min_ctr, min_roas)

    thresholds = await gateway.thresholds_for(campaign_id="cmp-contract")

    assert thresholds == Thresholds(min_ctr=Decimal(min_ctr), min_roas=Decimal(min_roas))
    assert str(thresholds.min_ctr) == min_ctr  # exact, never through a binary float
    side.received("cmp-contract")


@pytest.mark.parametrize("campaign_id", SPECIAL_IDS)
async def test_any_id_travels_to_the_service_as_itself(
    side: Side, gateway: HttpxBenchmarkGateway, campaign_id: str
) -> None:
    side.holds(campaign_id, "0.07", "1.5")

    thresholds = await gateway.thresholds_for(campaign_id=campaign_id)

    assert thresholds == Thresholds(min_ctr=Decimal("0.07"), min_roas=Decimal("1.5"))
    side.received(campaign_id)


async def test_campaign_without_thresholds_is_unavailable(
    side: Side, gateway: HttpxBenchmarkGateway
) -> None:
    side.lacks("cmp-none")

    with pytest.raises(BenchmarkUnavailable, match="answered 404"):
        await gateway.thresholds_for(campaign_id="cmp-none")


async def test_health_is_ok(side: Side, gateway: HttpxBenchmarkGateway) -> None:
    assert await gateway.status() == ComponentStatus.OK


def test_real_answers_are_byte_for_byte_what_the_fault_server_scripts(
    real_service: ServedProcess,
) -> None:
    """The fault server's `thresholds_reply` is the real service's body, status and type."""
    RealService(real_service).holds("cmp-bytes", "0.03", "2.5")
    scripted = thresholds_reply("0.03", "2.5")

    response = real_service.get("/benchmarks/cmp-bytes")

    assert response.status_code == scripted.status
    assert response.content == scripted.body
    assert response.headers["content-type"] == scripted.content_type


def test_anomalies_of_the_analytics_service_use_the_real_service(
    real_service: ServedProcess, tmp_path: Path
) -> None:
    """The visible sample served with the real benchmark service, seeded from its
    benchmarks.json, answers as it does with the fixture file (CONTRACT.md §5)."""
    base = f"http://127.0.0.1:{real_service.port}"
    with_service = Settings(data_dir=VISIBLE_DATA, benchmark_api_base=base)
    with_fixture = Settings(
        data_dir=VISIBLE_DATA, benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json"
    )
    with TestClient(create_app(with_service)) as served_client:
        with TestClient(create_app(with_fixture)) as fixture_client:
            for campaign_id in ("cmp-001", "cmp-002", "cmp-003"):
                path = f"/campaigns/{campaign_id}/anomalies"
                from_service = served_client.get(path)
                assert from_service.status_code == 200
                assert from_service.content == fixture_client.get(path).content
        assert served_client.get("/health").json()["benchmark_service"] == "ok"
