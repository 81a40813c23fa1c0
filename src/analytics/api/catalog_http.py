"""HTTP pieces of the catalog (CONTRACT.md §7): bodies, headers, the caller's catalog, the
request size limit and the OpenAPI documentation of every answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.api.auth import requires
from analytics.api.parameters import _plain_digits
from analytics.domain.access import Principal, Role
from analytics.domain.catalog import (
    CampaignStatus,
    CatalogRepository,
    Kind,
    Outcome,
    etag_of,
    name_problem,
)
from analytics.domain.catalog_cursors import MAX_CURSOR_LENGTH, CursorCodec
from analytics.domain.identifiers import id_problem

MAX_BODY_BYTES = 64 * 1024


class BodyLimitMiddleware:
    """413 for a request body over 64 kB, told by Content-Length or by counting the chunks
    of a body without one, before any handler parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        chunks: list[bytes] = []
        size, more = 0, True
        too_large = not length.isdigit() or int(length) > self.max_bytes
        while more and not too_large:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            too_large = size > self.max_bytes
        if too_large:
            detail = f"the request body is larger than {self.max_bytes} bytes"
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _name(value: str) -> str:
    trimmed = value.strip()
    if (problem := name_problem(trimmed)) is not None:
        raise ValueError(f"name {problem}")
    return trimmed


def _identifier(value: str) -> str:
    if (problem := id_problem(value)) is not None:
        raise ValueError(problem)
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Name = Annotated[str, Field(description="1-200 characters, trimmed, no control characters")]


class CampaignIn(_In):
    campaign_id: str
    campaign_name: Name
    status: CampaignStatus = Field(default=CampaignStatus.ACTIVE, strict=False)

    _valid_id = field_validator("campaign_id")(_identifier)
    _valid_name = field_validator("campaign_name")(_name)


class CampaignPatch(_In):
    campaign_name: Name | None = None
    status: CampaignStatus | None = Field(default=None, strict=False)

    _valid_name = field_validator("campaign_name")(_name)


class CreatorIn(_In):
    creator_id: str
    creator_name: Name

    _valid_id = field_validator("creator_id")(_identifier)
    _valid_name = field_validator("creator_name")(_name)


class CreatorPatch(_In):
    creator_name: Name | None = None

    _valid_name = field_validator("creator_name")(_name)


Threshold = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]


class ThresholdsIn(_In):
    min_ctr: Threshold
    min_roas: Threshold


class CampaignOut(BaseModel):
    campaign_id: str
    campaign_name: str
    status: Literal["active", "paused", "archived"]
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class CreatorOut(BaseModel):
    creator_id: str
    creator_name: str
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class CampaignPageOut(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None
    has_more: bool


class CreatorPageOut(BaseModel):
    items: list[CreatorOut]
    next_cursor: str | None
    has_more: bool


class StoredThresholdsOut(BaseModel):
    min_ctr: float
    min_roas: float


def catalog_of(request: Request, principal: Principal) -> CatalogRepository:
    return request.app.state.catalog.for_tenant(principal.tenant_id)


def cursor_codec(request: Request) -> CursorCodec:
    return request.app.state.cursor_codec


def _reader(
    request: Request, principal: Annotated[Principal, Depends(requires(Role.VIEWER))]
) -> CatalogRepository:
    return catalog_of(request, principal)


def _writer(
    request: Request, principal: Annotated[Principal, Depends(requires(Role.EDITOR))]
) -> CatalogRepository:
    return catalog_of(request, principal)


CatalogReader = Annotated[CatalogRepository, Depends(_reader)]
CatalogWriter = Annotated[CatalogRepository, Depends(_writer)]
Codec = Annotated[CursorCodec, Depends(cursor_codec)]
Caller = Annotated[Principal, Depends(requires(Role.VIEWER))]

PageLimit = Annotated[
    int,
    BeforeValidator(_plain_digits),
    Query(ge=1, le=1000, description="items per page (1 to 1000)"),
]
PageCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
]
UpdatedSince = Annotated[
    AwareDatetime | None,
    Query(description="only items updated at or after this time (RFC 3339, with an offset)"),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="an ETag: the change is made only if it is current"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="1-255 printable characters: a retry with the same key and body within "
        "24 hours replays the first answer without writing again",
    ),
]


def location(kind: Kind, item_id: str) -> str:
    return f"/{kind.value}/{quote(item_id, safe='')}"


def outcome_response(kind: Kind, outcome: Outcome) -> JSONResponse:
    """A POST's answer, first or replayed: a 201 carries Location and ETag."""
    headers = {}
    if outcome.status_code == 201:
        body = outcome.body
        updated_at = dt.datetime.strptime(body["updated_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
        headers = {
            "Location": location(kind, body[f"{kind.singular}_id"]),
            "ETag": etag_of(updated_at),
        }
    return JSONResponse(dict(outcome.body), status_code=outcome.status_code, headers=headers)


def _error(description: str, detail: str, headers: dict[str, Any] | None = None) -> dict:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"example": {"detail": detail}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


ETAG_HEADER = {"ETag": {"description": "the resource's version", "schema": {"type": "string"}}}
LOCATION_HEADER = {
    "Location": {"description": "path of the new resource", "schema": {"type": "string"}}
}
INVALID = {422: _error("A parameter, header, cursor or body field is invalid", "…")}
COMMON = {
    401: _error(
        "No credentials where they are required, or an invalid key",
        "authentication required",
        {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    ),
    503: _error("The store did not answer", "the metrics store is unavailable"),
}
WRITE = {
    **COMMON,
    403: _error("The key's role cannot write the catalog", "this operation needs the editor role"),
    413: _error("The body is larger than 64 kB", "the request body is larger than 65536 bytes"),
    **INVALID,
}
NOT_FOUND = {404: _error("No such resource in the caller's tenant", "campaign 'x' not found")}
STALE = {412: _error("If-Match is not the current ETag: nothing changed", "If-Match …")}
