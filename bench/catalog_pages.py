"""First page against a deep page of `GET /campaigns` at 1M campaigns, and catalog write
latency, on a private PostgreSQL database (never part of `make test`).

    .venv/bin/python bench/catalog_pages.py [--campaigns 1000000] [--url postgresql+psycopg://…]

Fills one tenant with N campaigns (distinct `updated_at`, as the clock would give them),
then times, through the API app in process (TestClient, one tenant key): the first page,
a page 90 % of the way through (cursor made by the service), each with limit 100, and
sequential PATCHes. Prints one JSON document; also the PostgreSQL plan of the deep page.

    .venv/bin/python bench/catalog_pages.py --engine duckdb [--campaigns 1000000]

The same pages on a DuckDB file (bench/out/work/catalog_pages.duckdb, removed afterwards),
served as `analytics serve` serves one: read-only, so without the PATCHes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from analytics.adapters import migrations, schema
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_queries import query
from analytics.api.app import create_app
from analytics.domain.access import Role
from analytics.settings import Settings

TENANT = "bench"


def _timed(call: object, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=1_000_000)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--engine", choices=("postgresql", "duckdb"), default="postgresql")
    arguments = parser.parse_args()
    if arguments.engine == "duckdb":
        _duckdb(arguments.campaigns)
        return
    name = f"analytics_bench_catalog_{uuid.uuid4().hex[:8]}"
    admin = create_engine(arguments.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = create_engine(arguments.url).url.set(database=name).render_as_string(False)
    try:
        engine = create_engine(url)
        migrations.upgrade(engine)
        store = SqlAlchemyAccessStore(engine)
        store.create_tenant(TENANT)
        _, key = store.create_key(TENANT, Role.EDITOR)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO campaigns (tenant_id, campaign_id, campaign_name, created_at, "
                    "updated_at) SELECT :t, 'cmp-' || lpad(n::text, 8, '0'), 'Campaign ' || n, "
                    "timestamptz '2026-01-01' + n * interval '1 millisecond', "
                    "timestamptz '2026-01-01' + n * interval '1 millisecond' "
                    "FROM generate_series(1, :n) AS n"
                ),
                {"t": TENANT, "n": arguments.campaigns},
            )
            connection.execute(text("ANALYZE campaigns"))
        fill_seconds = time.perf_counter() - started
        settings = Settings(database_url=url, anonymous_tenant="")
        client = TestClient(create_app(settings))
        headers = {"Authorization": f"Bearer {key}"}
        deep_at = int(arguments.campaigns * 0.9)
        client.patch(f"/campaigns/cmp-{deep_at:08d}", json={}, headers=headers)  # warm up
        first = client.get("/campaigns?limit=100", headers=headers).json()
        # a cursor 90 % of the way: the service's own, from a page read with updated_since
        deep_since = client.get(
            f"/campaigns?limit=1&updated_since={_at(deep_at)}", headers=headers
        ).json()
        deep_cursor = deep_since["next_cursor"]
        result = {
            "campaigns": arguments.campaigns,
            "fill_seconds": round(fill_seconds, 1),
            "first_page": _timed(lambda: client.get("/campaigns?limit=100", headers=headers), 200),
            "deep_page": _timed(
                lambda: client.get(f"/campaigns?limit=100&cursor={deep_cursor}", headers=headers),
                200,
            ),
            "patch": _timed(
                lambda: client.patch(
                    "/campaigns/cmp-00000001", json={"status": "paused"}, headers=headers
                ),
                200,
            ),
            "first_page_items": len(first["items"]),
        }
        with engine.connect() as connection:
            page = query("catalog_campaigns_page").text  # the service's own statement
            plan = connection.execute(
                text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {page}"),
                {
                    "tenant_id": TENANT,
                    "since": "1970-01-01T00:00:00Z",
                    "after_at": _at(deep_at),
                    "after_id": "cmp-",
                    "limit": 101,
                },
            ).scalars()
            result["deep_page_plan"] = list(plan)
        print(json.dumps(result, indent=2))
        client.close()
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _duckdb(campaigns: int) -> None:
    path = Path(__file__).resolve().parent / "out" / "work" / "catalog_pages.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"duckdb:///{path}"
    try:
        engine = create_engine(url)
        schema.metadata.create_all(engine)
        store = SqlAlchemyAccessStore(engine)
        store.create_tenant(TENANT)
        _, key = store.create_key(TENANT, Role.VIEWER)
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO campaigns (tenant_id, campaign_id, campaign_name, status, "
                    "created_at, updated_at) SELECT :t, 'cmp-' || lpad(CAST(n AS VARCHAR), 8, "
                    "'0'), 'Campaign ' || n, 'active', "
                    "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_milliseconds(n), "
                    "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_milliseconds(n) "
                    "FROM range(1, :n + 1) AS r(n)"
                ),
                {"t": TENANT, "n": campaigns},
            )
        fill_seconds = time.perf_counter() - started
        engine.dispose()
        client = TestClient(create_app(Settings(database_url=url, anonymous_tenant="")))
        headers = {"Authorization": f"Bearer {key}"}
        first = client.get("/campaigns?limit=100", headers=headers).json()
        deep_at = int(campaigns * 0.9)
        deep_cursor = client.get(
            f"/campaigns?limit=1&updated_since={_at(deep_at)}", headers=headers
        ).json()["next_cursor"]
        deep = client.get(f"/campaigns?limit=100&cursor={deep_cursor}", headers=headers).json()
        result = {
            "engine": "duckdb",
            "campaigns": campaigns,
            "fill_seconds": round(fill_seconds, 1),
            "first_page": _timed(lambda: client.get("/campaigns?limit=100", headers=headers), 200),
            "deep_page": _timed(
                lambda: client.get(f"/campaigns?limit=100&cursor={deep_cursor}", headers=headers),
                200,
            ),
            "first_page_items": len(first["items"]),
            "deep_page_first_id": deep["items"][0]["campaign_id"],
        }
        print(json.dumps(result, indent=2))
        client.close()
    finally:
        path.unlink(missing_ok=True)


def _at(n: int) -> str:
    """The `updated_at` given to campaign n by the fill, as RFC 3339."""
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=n)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


if __name__ == "__main__":
    main()
