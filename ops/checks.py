"""What `make stack` checks through the running stack, and the servers it starts from."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ops.topology import ROOT

if TYPE_CHECKING:
    from ops.stack import Stack

SAMPLE = ROOT / "data" / "visible"
Report = Callable[[str], None]


def _failed(message: str) -> Exception:
    from ops.stack import StackFailed

    return StackFailed(message)


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped afterwards."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        admin.dispose()
        raise _failed(f"cannot create a database on {make_url(server_url)!r}: {error}") from None
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def check_provided(database_url: str, redis_url: str, report: Report) -> None:
    """The machine's PostgreSQL and Redis answer (compose's `postgres` and `redis`)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise _failed(f"postgres: {error}") from None
    finally:
        engine.dispose()
    report("postgres: healthy (a fresh database)")
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise _failed(f"redis: {error}") from None
    finally:
        client.close()
    report(f"redis: healthy ({redis_url})")


def _expect(condition: bool, what: str, response: httpx.Response | None = None) -> None:
    if not condition:
        answer = "" if response is None else f": {response.status_code} {response.text[:300]}"
        raise _failed(f"{what}{answer}")


def _get(base: str, path: str, key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.get(base + path, headers=headers, timeout=30)


def _run(stack: Stack, service: str, *arguments: str) -> str:
    """`analytics ARGUMENTS` with the environment of `service` (as `docker-compose exec`)."""
    spec = stack.loopback.services[service]
    command = [stack.loopback.command(spec)[0], *arguments]
    result = subprocess.run(
        command, env=stack.environment(spec), cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    _expect(result.returncode == 0, f"`analytics {' '.join(arguments)}`: {result.stderr[-500:]}")
    return result.stdout.strip()


def _sample_campaigns() -> list[str]:
    with (SAMPLE / "campaigns.csv").open(encoding="utf-8", newline="") as rows:
        return [row["campaign_id"] for row in csv.DictReader(rows)]


def _sample_thresholds() -> dict[str, dict[str, Any]]:
    content = (SAMPLE / "benchmarks.json").read_text(encoding="utf-8")
    return json.loads(content, parse_float=Decimal, parse_int=Decimal)


def _check_part_one(api: str, report: Report) -> None:
    health = _get(api, "/health")
    body = health.json() if health.status_code == 200 else {}
    _expect(
        {body.get(k) for k in ("status", "database", "benchmark_service")} == {"ok"},
        "api GET /health is not ok with the benchmark service reachable",
        health,
    )
    campaign = quote(_sample_campaigns()[0], safe="")
    for path in (f"/campaigns/{campaign}/performance", f"/creators/top?campaign_id={campaign}"):
        response = _get(api, path)
        _expect(response.status_code == 200, f"api GET {path}", response)
    for campaign_id, expected in _sample_thresholds().items():
        path = f"/campaigns/{quote(campaign_id, safe='')}/anomalies"
        response = _get(api, path)
        _expect(response.status_code == 200, f"api GET {path}", response)
        thresholds = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
        _expect(
            thresholds["thresholds"] == expected,
            f"api GET {path}: thresholds are not the benchmark service's",
            response,
        )
    report("api: /health and CONTRACT Part I answered, thresholds from the benchmark service")


def _check_platform(stack: Stack, api: str, report: Report) -> None:
    viewer = _run(stack, "api", "keys", "create", "--tenant", "default", "--role", "viewer",
                  "--name", "stack-check")  # fmt: skip
    admin = _run(stack, "api", "keys", "create", "--tenant", "default", "--role", "admin",
                 "--name", "stack-check-admin")  # fmt: skip
    catalog = _get(api, "/campaigns?limit=1000", viewer)
    ids = sorted(item["campaign_id"] for item in catalog.json().get("items", []))
    _expect(ids == sorted(_sample_campaigns()), "api GET /campaigns (viewer key)", catalog)
    alerts = _get(api, "/alerts", viewer)
    _expect(alerts.status_code == 200 and "items" in alerts.json(), "api GET /alerts", alerts)
    _run(stack, "scheduler", "jobs", "run", "heartbeat")
    runs = _get(api, "/jobs/runs", admin)
    jobs = {item["job"] for item in runs.json().get("items", [])} if runs.is_success else set()
    _expect("heartbeat" in jobs, "api GET /jobs/runs (admin key) lists the heartbeat run", runs)
    anonymous_runs = _get(api, "/jobs/runs")
    _expect(anonymous_runs.status_code in (401, 403), "/jobs/runs needs an admin", anonymous_runs)
    report("api: catalog, /alerts and /jobs/runs answered with keys from `analytics keys create`")


def _check_benchmarks(bench: str, report: Report) -> None:
    health = _get(bench, "/health")
    _expect(health.status_code == 200, "benchmarks GET /health", health)
    for campaign_id, expected in _sample_thresholds().items():
        response = _get(bench, f"/benchmarks/{quote(campaign_id, safe='')}")
        values = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
        _expect(values == expected, f"benchmarks GET /benchmarks/{campaign_id}", response)
    report("benchmarks: /health and every seeded campaign answered")


def _check_metrics(stack: Stack, report: Report) -> None:
    """Both Prometheus listeners answer, with what the checks above did counted."""
    scraped = httpx.get(stack.loopback.metrics_url("api"), timeout=10)
    _expect(
        scraped.status_code == 200
        and 'route="/campaigns/{campaign_id}/performance",status="200"' in scraped.text,
        "api metrics port counts the requests answered",
        scraped,
    )
    jobs = httpx.get(stack.loopback.metrics_url("scheduler"), timeout=10)
    _expect(
        jobs.status_code == 200 and "analytics_job_runs" in jobs.text,
        "scheduler metrics port",
        jobs,
    )
    report("metrics: the API's workers and the scheduler scraped on their own ports")


def check_endpoints(stack: Stack, report: Report) -> None:
    """Every endpoint the stack serves, through the running processes."""
    api, bench = stack.loopback.url("api"), stack.loopback.url("benchmarks")
    _check_benchmarks(bench, report)
    _check_part_one(api, report)
    _check_platform(stack, api, report)
    _check_metrics(stack, report)
