"""What every request leaves behind: a request id (taken from `X-Request-ID` when it is a
sane one, else made, and echoed in the answer), the request metrics by route template and
status, and one access line. Pure ASGI, so that it costs a few microseconds per request."""

from __future__ import annotations

import hmac
import logging
import os
import re
import time

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.log_json import RequestContext, enter_request, leave_request
from analytics.telemetry.exposition import LoadTimes, render, scrape_registry
from analytics.telemetry.metrics import instruments

access_log = logging.getLogger("analytics.access")
REQUEST_ID_HEADER = "x-request-id"
VALID_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")  # printable ASCII, no space, bounded
UNMATCHED = "unmatched"  # the route label of a path no route matches (never the raw path)
# The scope key under which a middleware that answers before routing (a cache hit, a 429)
# leaves the template of the route the request was for.
ROUTE_TEMPLATE = "analytics.route_template"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_LOGGED_PATH = 200
INTERNAL_METRICS_PATH = "/internal/metrics"
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("ascii") if VALID_REQUEST_ID.fullmatch(value) else _new_id()
    return _new_id()


def _new_id() -> str:
    return os.urandom(16).hex()  # 128 random bits, as a UUID4 has (122), at half the cost


def route_template(scope: Scope) -> str:
    """The matched route's template (`/campaigns/{campaign_id}/performance`), or the one an
    answer made before routing was for, else `unmatched`: ids in paths never become label
    values."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or scope.get(ROUTE_TEMPLATE)
    return template if isinstance(template, str) and template else UNMATCHED


class RequestTelemetryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id(scope))
        echoed = (REQUEST_ID_HEADER.encode(), context.request_id.encode())
        status = 500  # an exception before the answer started: the 500 sent above us

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        method = scope["method"] if scope["method"] in METHODS else "OTHER"  # before HEAD→GET
        metrics = instruments()
        token = enter_request(context)
        metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            metrics.in_flight.dec()
            labels = (method, route_template(scope), str(status))
            metrics.requests.labels(*labels).inc()
            metrics.request_seconds.labels(*labels).observe(seconds)
            _log_access(scope, context, labels, seconds)
            leave_request(token)


def _log_access(
    scope: Scope, context: RequestContext, labels: tuple[str, str, str], seconds: float
) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, route, status = labels
    milliseconds = round(seconds * 1000, 2)
    path = scope["path"][:MAX_LOGGED_PATH]  # no query string: it is the caller's business
    access_log.info(
        "%s %s %s %.1f ms tenant=%s request_id=%s",
        method,
        path,
        status,
        milliseconds,
        context.tenant or "-",
        context.request_id,
        extra={
            "method": method,
            "route": route,
            "path": path,
            "status": int(status),
            "duration_ms": milliseconds,
            "tenant": context.tenant,
            "request_id": context.request_id,
        },
    )


def add_internal_metrics(app: FastAPI, token: str, load_times: LoadTimes) -> None:
    """`GET /internal/metrics`: the Prometheus exposition for a scraper presenting
    `Authorization: Bearer <METRICS_TOKEN>`; 404 for anyone else, as if it did not exist."""
    registry = scrape_registry(load_times)
    expected = f"Bearer {token}".encode()

    async def internal_metrics(request: Request) -> Response:
        presented = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(presented, expected):
            return Response(status_code=404, content=b'{"detail":"Not Found"}',
                            media_type="application/json")  # fmt: skip
        body = await anyio.to_thread.run_sync(render, registry)
        return Response(content=body, media_type=EXPOSITION_TYPE)

    app.add_api_route(
        INTERNAL_METRICS_PATH, internal_metrics, methods=["GET"], include_in_schema=False
    )
