"""docker-compose.yml: valid for Debian's docker-compose, read the same by `make stack`, and
its topology proven by running it as local processes on loopback (ops/stack.py)."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis
import yaml

from ops.checks import check_endpoints, check_provided
from ops.stack import running_stack
from ops.topology import COMPOSE_FILE, ROOT, interpolate, read_services
from tests.conftest import REQUIRE_VARIABLE, new_postgres_database

REDIS_URL_VARIABLE = "ANALYTICS_TEST_REDIS_URL"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/13"  # this suite's own database number
TOKEN = "BENCHMARKS_OPERATOR_TOKEN"  # interpolated by compose: left unset here
CLEAN_STOP = {0, -signal.SIGTERM}  # uvicorn re-raises SIGTERM after its graceful shutdown


def required(reason: str) -> None:
    """Skip, or fail where CI requires the server suites (the PostgreSQL tests' rule)."""
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE} is set: skipping is an error)")
    pytest.skip(reason)


def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        required("docker-compose is not installed (Debian: apt-get install docker-compose)")
    assert binary is not None
    return binary


@functools.cache
def redis_server() -> tuple[str | None, str]:
    url = os.environ.get(REDIS_URL_VARIABLE) or LOCAL_REDIS_URL
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        return None, f"Redis suites skipped: no server answers at {url} ({error})"
    finally:
        client.close()
    return url, ""


def compose_config() -> dict:
    result = subprocess.run(
        [docker_compose(), "-f", str(COMPOSE_FILE), "config"], cwd=ROOT, capture_output=True,
        text=True, check=False, env={k: v for k, v in os.environ.items() if k != TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        [docker_compose(), "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")


def test_the_stack_reads_every_service_as_docker_compose_does() -> None:
    services = compose_config()["services"]
    ours = read_services()
    assert set(ours) == set(services)
    for name, spec in services.items():
        service = ours[name]
        assert service.command == [str(part) for part in spec.get("command", [])], name
        environment = {k: interpolate(v, {}) for k, v in service.environment.items()}
        assert environment == {k: v or "" for k, v in (spec.get("environment") or {}).items()}
        conditions = {k: v["condition"] for k, v in (spec.get("depends_on") or {}).items()}
        assert service.depends_on == conditions, name
        healthcheck = spec.get("healthcheck", {}).get("test")
        disabled = healthcheck is None or healthcheck == ["NONE"]  # `disable: true`
        assert service.healthcheck == (None if disabled else healthcheck[1:]), name


def test_topology_is_the_one_the_service_needs() -> None:
    services = read_services()
    assert {s.name for s in services.values() if s.provided} == {"postgres", "redis"}
    long_running = {"postgres", "redis", "benchmarks", "api", "scheduler"}
    assert all(services[name].healthcheck for name in long_running)
    assert services["api"].command[1:2] == ["serve"]
    assert services["api"].command[-2:] == ["--workers", "2"]
    assert services["api"].environment["SCHEDULER_ENABLED"] == "false"
    assert services["scheduler"].command[1:] == ["scheduler"]
    assert services["migrate"].command[1:] == ["migrate"]
    assert services["load"].command[1:] == ["load", "data/visible", "--tenant", "default"]
    bench_port = services["benchmarks"].port
    for name in ("api", "scheduler", "migrate", "load"):
        environment = services[name].environment
        assert environment["BENCHMARK_API_BASE"] == f"http://benchmarks:{bench_port}"
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["DATA_DIR"] == environment["BENCHMARK_FIXTURES_FILE"] == ""
    assert services["load"].depends_on == {"migrate": "service_completed_successfully"}
    for name in ("api", "scheduler"):
        assert services[name].depends_on["load"] == "service_completed_successfully"
        assert services[name].depends_on["benchmarks"] == "service_healthy"
    order = list(services)
    assert order.index("migrate") < order.index("load") < order.index("api")


@pytest.mark.postgres
def test_the_stack_starts_answers_every_endpoint_and_stops(tmp_path: Path) -> None:
    redis_url, reason = redis_server()
    if redis_url is None:
        required(reason)
    assert redis_url is not None
    database_url, drop = new_postgres_database("analytics_stack")
    lines: list[str] = []
    try:
        check_provided(database_url, redis_url, report=lines.append)
        with running_stack(
            database_url=database_url, redis_url=redis_url, workdir=tmp_path, report=lines.append
        ) as stack:
            check_endpoints(stack, report=lines.append)
            processes = dict(stack.processes)
            assert set(processes) == {"benchmarks", "api", "scheduler"}
            assert stack.healthy == {"benchmarks", "api", "scheduler"}
    finally:
        drop()
    assert all(process.poll() is not None for process in processes.values())
    assert set(stack.exit_codes.values()) <= CLEAN_STOP, "\n".join(lines)
    assert (tmp_path / "benchmarks-data" / "benchmarks.db").is_file()
