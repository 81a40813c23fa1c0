"""HTTP plumbing below the routers: HEAD requests and bounded validation errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_ECHOED_CHARACTERS = 64


class HeadAsGetMiddleware:
    """`HEAD` answers as `GET` would, without the body (RFC 9110 §9.3.2): load balancers and
    uptime monitors probe with it. Routers only declare GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        scope["method"] = "GET"  # in place: the middleware above reads the matched route
        await self.app(scope, receive, send_without_body)


def _bounded(value: Any) -> Any:
    """A client's value as echoed in an error: long text is cut, containers are dropped."""
    if isinstance(value, str) and len(value) > MAX_ECHOED_CHARACTERS:
        return value[:MAX_ECHOED_CHARACTERS] + "…"
    if isinstance(value, dict | list | tuple | bytes):
        return None
    return value


def _bounded_context(value: Any) -> Any:
    plain = value if isinstance(value, str | int | float | bool) else str(value)
    return _bounded(plain)


async def validation_error(_: Request, error: Exception) -> JSONResponse:
    """422 in FastAPI's shape (`detail`: a list of `type`, `loc`, `msg`, `input`), with every
    echoed input bounded so that a huge parameter is never sent back whole."""
    assert isinstance(error, RequestValidationError)
    details = []
    for item in error.errors():
        detail = {key: item[key] for key in ("type", "loc", "msg") if key in item}
        detail["input"] = _bounded(item.get("input"))
        if "ctx" in item:
            detail["ctx"] = {key: _bounded_context(value) for key, value in item["ctx"].items()}
        details.append(detail)
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(details)})
