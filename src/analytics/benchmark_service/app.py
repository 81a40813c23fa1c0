"""The benchmark service's HTTP API: CONTRACT.md §3 for readers, PUT and DELETE for operators.

`GET /benchmarks/{campaign_id}` and `GET /health` are open (the analytics service calls them
without credentials); `PUT` and `DELETE` need `Authorization: Bearer <operator token>`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from analytics.benchmark_service.schema import SchemaNotReady
from analytics.benchmark_service.settings import BenchmarkSettings
from analytics.benchmark_service.storage import SqlThresholdStore, create_storage_engine
from analytics.benchmark_service.thresholds import (
    Invalid,
    decode_json,
    id_problem,
    parse_thresholds,
)

log = logging.getLogger("analytics.benchmark_service")
MAX_BODY_BYTES = 4096
PATH = "/benchmarks/{campaign_id:campaign_id}"
UNAVAILABLE = {"detail": "benchmark storage is unavailable"}


class CampaignIdConvertor(Convertor[str]):
    """Any text, `/` and line breaks included (ids are arbitrary text, CONTRACT.md §1)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("campaign_id", CampaignIdConvertor())


class Problem(Exception):
    """An answer other than success: status, detail, headers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _not_found(campaign_id: str) -> Problem:
    return Problem(404, f"no benchmarks for campaign '{campaign_id}'")


def _store(request: Request) -> SqlThresholdStore:
    return request.app.state.store


Store = Annotated[SqlThresholdStore, Depends(_store)]


def _operator(request: Request) -> None:
    """401 without the operator token (or with a wrong one); 403 when none is configured."""
    settings: BenchmarkSettings = request.app.state.settings
    if settings.operator_token is None:
        raise Problem(403, "operator writes are disabled: no operator token is configured")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = settings.operator_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise Problem(401, "operator token required", {"WWW-Authenticate": "Bearer"})


Operator = Depends(_operator)


async def _body(request: Request) -> bytes:
    """The request body, refused (413) past MAX_BODY_BYTES without reading further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _thresholds_response(values: Any, status: int = 200) -> Response:
    return Response(values.to_json(), status_code=status, media_type="application/json")


async def get_benchmarks(campaign_id: str, store: Store) -> Response:
    """The campaign's thresholds, `{"min_ctr": number, "min_roas": number}`; 404 without."""
    if id_problem(campaign_id) is not None:
        raise _not_found(campaign_id)
    values = await run_in_threadpool(store.get, campaign_id)
    if values is None:
        raise _not_found(campaign_id)
    return _thresholds_response(values)


async def put_benchmarks(campaign_id: str, request: Request, store: Store) -> Response:
    """Store the campaign's thresholds: 201 when it had none, else 200; the body echoed."""
    if (problem := id_problem(campaign_id)) is not None:
        raise Problem(422, problem)
    try:
        values = parse_thresholds(decode_json(await _body(request)))
    except Invalid as error:
        raise Problem(422, str(error)) from None
    created = await run_in_threadpool(store.put, campaign_id, values)
    return _thresholds_response(values, 201 if created else 200)


async def delete_benchmarks(campaign_id: str, store: Store) -> Response:
    """204 when the thresholds are gone; 404 when the campaign had none."""
    if id_problem(campaign_id) is None and await run_in_threadpool(store.delete, campaign_id):
        return Response(status_code=204)
    raise _not_found(campaign_id)


async def health(store: Store) -> JSONResponse:
    """200 when the database answers with the expected schema, else 503 (any 2xx means
    reachable to the analytics service, CONTRACT.md §3)."""
    try:
        await run_in_threadpool(store.check)
    except (SQLAlchemyError, SchemaNotReady) as error:
        log.warning("benchmark storage health check failed: %r", error)
        return JSONResponse({"status": "degraded", "database": "error"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def _problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return JSONResponse({"detail": error.detail}, error.status, headers=error.headers)


async def _storage_failed(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s: storage failed", request.method, request.url.path, exc_info=error)
    return JSONResponse(UNAVAILABLE, status_code=503)


def create_app(settings: BenchmarkSettings) -> FastAPI:
    """The service over `settings.database_url`; the engine lives as long as the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_storage_engine(settings.database_url)
        app.state.store = SqlThresholdStore(engine)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPIOffline(
        title="Benchmark service",
        description="Per-campaign anomaly thresholds (CONTRACT.md §3).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(SQLAlchemyError, _storage_failed)
    app.add_exception_handler(SchemaNotReady, _storage_failed)
    app.add_api_route(PATH, get_benchmarks, methods=["GET"], tags=["readers"])
    app.add_api_route("/health", health, methods=["GET"], tags=["readers"])
    app.add_api_route(
        PATH, put_benchmarks, methods=["PUT"], dependencies=[Operator], tags=["operators"]
    )
    app.add_api_route(
        PATH, delete_benchmarks, methods=["DELETE"], dependencies=[Operator], tags=["operators"]
    )
    return app
