"""Servers that api.py starts next to the service, each as its own process on 127.0.0.1.

    python bench/apps.py hello --port P [--workers N] [--log-level info]
    python bench/apps.py naive --port P --data-dir DIR [--workers N] [--log-level info]
    python bench/apps.py thresholds --port P --benchmarks DIR/benchmarks.json

hello       the HTTP floor: FastAPI answering a constant JSON on the service's route shape,
            run by uvicorn exactly as `analytics serve` runs the service.
naive       the naive anchor: per request, a new DuckDB connection creates views over the
            CSV files and runs sql/campaign_performance.sql.
thresholds  the downstream benchmark service (CONTRACT.md §3): `/benchmarks/{id}` answers
            the campaign's thresholds from a benchmarks.json, `/health` answers 200. A bare
            asyncio HTTP/1.1 server with keep-alive, so that it is never the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import uvicorn
from fastapi import FastAPI, HTTPException

BENCH_DIR = Path(__file__).resolve().parent
SQL_DIR = BENCH_DIR.parent / "sql"
METRICS_TYPES = {
    "metric_date": "DATE",
    "campaign_id": "VARCHAR",
    "creator_id": "VARCHAR",
    "impressions": "BIGINT",
    "clicks": "BIGINT",
    "conversions": "BIGINT",
    "spend": "DECIMAL(18,2)",
    "revenue": "DECIMAL(18,2)",
}


# --------------------------------------------------------------------------- HTTP floor


def create_hello_app() -> FastAPI:
    app = FastAPI(title="HTTP floor")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/campaigns/{campaign_id:path}/performance")
    async def performance(campaign_id: str) -> dict[str, Any]:
        return {"campaign_id": campaign_id, "campaign_name": "hello", "totals": {}}

    return app


# --------------------------------------------------------------------------- naive anchor


def naive_performance(data_dir: Path, campaign_id: str) -> dict[str, Any] | None:
    """What a first attempt would do: query the CSV files directly, every time."""
    import duckdb

    sql = (SQL_DIR / "campaign_performance.sql").read_text().replace(":campaign_id", "$id")
    connection = duckdb.connect()
    try:
        for name in ("campaigns", "creators"):
            path = str(data_dir / f"{name}.csv").replace("'", "''")
            connection.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_csv('{path}', header = true, "
                "all_varchar = true)"
            )
        path = str(data_dir / "campaign_daily_metrics.csv").replace("'", "''")
        connection.execute(
            f"CREATE VIEW campaign_daily_metrics AS SELECT * FROM read_csv('{path}', "
            f"header = true, columns = {METRICS_TYPES!r})"
        )
        # The service reads a rollup built at load time; a script computes it on the fly.
        connection.execute(
            "CREATE VIEW campaign_day_totals AS SELECT campaign_id, metric_date, "
            "SUM(impressions) AS impressions, SUM(clicks) AS clicks, "
            "SUM(conversions) AS conversions, SUM(spend) AS spend, SUM(revenue) AS revenue "
            "FROM campaign_daily_metrics GROUP BY campaign_id, metric_date"
        )
        row = connection.execute(sql, {"id": campaign_id}).fetchone()
    finally:
        connection.close()
    if row is None:
        return None
    names = ["total_impressions", "total_clicks", "total_conversions", "total_spend"]
    names += ["total_revenue", "ctr", "cvr", "roas"]
    return {
        "campaign_id": row[0],
        "campaign_name": row[1],
        "totals": {name: float(value) for name, value in zip(names, row[2:], strict=True)},
    }


def create_naive_app() -> FastAPI:
    data_dir = Path(os.environ["BENCH_DATA_DIR"])
    app = FastAPI(title="naive anchor")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/campaigns/{campaign_id:path}/performance")
    def performance(campaign_id: str) -> dict[str, Any]:
        answer = naive_performance(data_dir, campaign_id)
        if answer is None:
            raise HTTPException(404, f"campaign '{campaign_id}' not found")
        return answer

    return app


def serve(factory: str, port: int, workers: int, log_level: str) -> None:
    """Exactly as `analytics serve` runs the service (uvicorn defaults otherwise)."""
    if workers == 1:
        app = {"hello": create_hello_app, "naive": create_naive_app}[factory]()
        uvicorn.run(app, host="127.0.0.1", port=port, log_level=log_level)
        return
    uvicorn.run(
        f"apps:create_{factory}_app",
        factory=True,
        app_dir=str(BENCH_DIR),
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level=log_level,
    )


# --------------------------------------------------------------------------- thresholds


class ThresholdServer:
    """GET /benchmarks/{percent-encoded id} and GET /health, HTTP/1.1 keep-alive."""

    ROUTE = re.compile(rb"^GET /benchmarks/([^ ?]+)[^ ]* HTTP/1\.[01]$")

    def __init__(self, benchmarks: dict[str, Any]) -> None:
        self.bodies = {key: json.dumps(value).encode() for key, value in benchmarks.items()}

    def answer(self, request_line: bytes) -> tuple[bytes, bytes]:
        if request_line.startswith(b"GET /health "):
            return b"200 OK", b'{"status": "ok"}'
        match = self.ROUTE.match(request_line)
        if match is None:
            return b"404 Not Found", b'{"detail": "not found"}'
        body = self.bodies.get(unquote(match.group(1).decode("ascii", "replace")))
        if body is None:
            return b"404 Not Found", b'{"detail": "unknown campaign"}'
        return b"200 OK", body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                status, body = self.answer(head.split(b"\r\n", 1)[0])
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run(self, port: int) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()


def serve_thresholds(port: int, benchmarks_file: Path) -> None:
    benchmarks = json.loads(benchmarks_file.read_text(encoding="utf-8"))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(ThresholdServer(benchmarks).run(port))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app", choices=["hello", "naive", "thresholds"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--data-dir", type=Path, help="naive: the data directory")
    parser.add_argument("--benchmarks", type=Path, help="thresholds: a benchmarks.json")
    args = parser.parse_args()
    if args.app == "thresholds":
        serve_thresholds(args.port, args.benchmarks)
        return
    if args.app == "naive":
        os.environ["BENCH_DATA_DIR"] = str(args.data_dir.resolve())
    serve(args.app, args.port, args.workers, args.log_level)


if __name__ == "__main__":
    main()
