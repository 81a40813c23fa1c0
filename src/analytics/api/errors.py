"""The one place where domain errors become HTTP answers. Nothing internal leaks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from analytics.api.http import validation_error
from analytics.domain.access import Forbidden, KeyNotFound, NotAuthenticated
from analytics.domain.catalog import (
    AlreadyExists,
    HasMetrics,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    ThresholdsNotFound,
)
from analytics.domain.errors import BenchmarkUnavailable, CampaignNotFound, RepositoryUnavailable

log = logging.getLogger(__name__)

BENCHMARK_UNAVAILABLE = "benchmark thresholds are unavailable"
STORE_UNAVAILABLE = "the metrics store is unavailable"
INTERNAL_ERROR = "internal server error"
AUTHENTICATION_REQUIRED = "authentication required"


def _detail(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"detail": detail})


async def _not_found(_: Request, error: Exception) -> JSONResponse:
    return _detail(404, str(error))


async def _not_authenticated(_: Request, error: Exception) -> JSONResponse:
    """401, the same body whatever was wrong: nothing of the key is echoed or hinted at."""
    response = _detail(401, AUTHENTICATION_REQUIRED)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _forbidden(_: Request, error: Exception) -> JSONResponse:
    return _detail(403, str(error))


def _path(request: Request) -> str:
    """The path as requested (decoded), for the log, whose formatter escapes control
    characters; `request.url.path` re-parses it and silently drops CR, LF and tab."""
    return request.scope["path"]


async def _benchmark_unavailable(request: Request, error: Exception) -> JSONResponse:
    # the one log line of a benchmark failure: the gateway's message says what upstream did
    log.warning("%s %s: %s", request.method, _path(request), error)
    return _detail(502, BENCHMARK_UNAVAILABLE)


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s: %s", request.method, _path(request), error)
    return _detail(503, STORE_UNAVAILABLE)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, _path(request), exc_info=error)
    return _detail(500, INTERNAL_ERROR)


async def _conflict(_: Request, error: Exception) -> JSONResponse:
    return _detail(409, str(error))


async def _precondition_failed(_: Request, error: Exception) -> JSONResponse:
    return _detail(412, str(error))


def _invalid(location: tuple[str, str], kind: str) -> Callable[..., Awaitable[JSONResponse]]:
    """422 in the shape of every other validation error, naming what was wrong."""

    async def handler(_: Request, error: Exception) -> JSONResponse:
        problem = {"type": kind, "loc": list(location), "msg": str(error), "input": None}
        return JSONResponse(status_code=422, content={"detail": [problem]})

    return handler


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(CampaignNotFound, _not_found)
    app.add_exception_handler(KeyNotFound, _not_found)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(ThresholdsNotFound, _not_found)
    for conflict in (AlreadyExists, HasMetrics, IdempotencyKeyInFlight):
        app.add_exception_handler(conflict, _conflict)
    app.add_exception_handler(PreconditionFailed, _precondition_failed)
    app.add_exception_handler(InvalidCursor, _invalid(("query", "cursor"), "invalid_cursor"))
    app.add_exception_handler(
        IdempotencyKeyReused,
        _invalid(("header", "Idempotency-Key"), "idempotency_key_reused"),
    )
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(BenchmarkUnavailable, _benchmark_unavailable)
    app.add_exception_handler(RepositoryUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
