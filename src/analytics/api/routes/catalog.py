"""The editable catalog's campaigns and creators (CONTRACT.md §7): keyset pages, reads with
ETags, idempotent creation, conditional updates and deletes. Scoped to the key's tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from analytics.api.catalog_http import (
    COMMON,
    ETAG_HEADER,
    INVALID,
    LOCATION_HEADER,
    NOT_FOUND,
    STALE,
    WRITE,
    Caller,
    CampaignIn,
    CampaignOut,
    CampaignPageOut,
    CampaignPatch,
    CatalogReader,
    CatalogWriter,
    Codec,
    CreatorIn,
    CreatorOut,
    CreatorPageOut,
    CreatorPatch,
    IdempotencyKey,
    IfMatch,
    PageCursor,
    PageLimit,
    UpdatedSince,
    _error,
    outcome_response,
)
from analytics.api.parameters import CampaignIdPath
from analytics.domain import editing
from analytics.domain.access import Principal
from analytics.domain.catalog import (
    CatalogItem,
    CatalogRepository,
    Changes,
    Kind,
    NotFound,
    document,
    etag_of,
)
from analytics.domain.catalog_cursors import CursorCodec
from analytics.domain.identifiers import id_problem

router = APIRouter()
CREATED = {
    201: {
        "description": "Created (or the first answer, replayed)",
        "headers": {**LOCATION_HEADER, **ETAG_HEADER},
    },
    409: _error("The id exists, or the Idempotency-Key is still in flight", "… already exists"),
}
ON_PAGE = {**COMMON, **INVALID}
ON_ITEM = {**COMMON, **NOT_FOUND, **INVALID, 200: {"description": "OK", "headers": ETAG_HEADER}}
ON_PATCH = {**WRITE, **NOT_FOUND, **STALE, 200: {"description": "OK", "headers": ETAG_HEADER}}
ON_DELETE = {
    **WRITE,
    **NOT_FOUND,
    **STALE,
    409: _error("It has metric rows: archive it instead", "campaign 'x' has metric rows"),
}


def _with_etag(item: CatalogItem, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = etag_of(item.updated_at)
    return document(item)


async def _page(
    catalog: CatalogRepository,
    codec: CursorCodec,
    caller: Principal,
    kind: Kind,
    limit: int,
    cursor: str | None,
    since: dt.datetime | None,
) -> dict[str, Any]:
    page = await editing.list_page(
        catalog,
        codec,
        tenant_id=caller.tenant_id,
        kind=kind,
        cursor=cursor,
        since=since,
        limit=limit,
    )
    items = [document(item) for item in page.items]
    return {"items": items, "next_cursor": page.next_cursor, "has_more": page.has_more}


async def _create(
    catalog: CatalogRepository,
    request: Request,
    kind: Kind,
    body: CampaignIn | CreatorIn,
    key: str | None,
) -> JSONResponse:
    fields = body.model_dump(mode="json")
    idempotency = None
    if key is not None:
        idempotency = (key, editing.fingerprint("POST", request.scope["path"], fields))
    outcome = await editing.create_item(
        catalog,
        kind=kind,
        item_id=fields[f"{kind.singular}_id"],
        name=fields[f"{kind.singular}_name"],
        status=getattr(body, "status", None),
        idempotency=idempotency,
    )
    return outcome_response(kind, outcome)


async def _delete(
    catalog: CatalogRepository, kind: Kind, item_id: str, if_match: str | None
) -> Response:
    if id_problem(item_id) is not None:
        raise NotFound(kind, item_id)
    await catalog.delete(kind=kind, item_id=item_id, if_match=if_match)
    return Response(status_code=204)


async def _update(
    catalog: CatalogRepository,
    kind: Kind,
    item_id: str,
    changes: Changes,
    if_match: str | None,
    response: Response,
) -> dict[str, Any]:
    if id_problem(item_id) is not None:
        raise NotFound(kind, item_id)
    item = await catalog.update(kind=kind, item_id=item_id, changes=changes, if_match=if_match)
    return _with_etag(item, response)


@router.get("/campaigns", response_model=CampaignPageOut, responses=ON_PAGE, tags=["catalog"])
async def list_campaigns(
    catalog: CatalogReader,
    codec: Codec,
    caller: Caller,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
    updated_since: UpdatedSince = None,
) -> dict[str, Any]:
    """The tenant's campaigns, oldest change first: follow `next_cursor` to sync."""
    return await _page(catalog, codec, caller, Kind.CAMPAIGNS, limit, cursor, updated_since)


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignOut,
    responses={**WRITE, **CREATED},
    tags=["catalog"],
)
async def create_campaign(
    body: CampaignIn,
    catalog: CatalogWriter,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A new campaign (`status` defaults to `active`)."""
    return await _create(catalog, request, Kind.CAMPAIGNS, body, idempotency_key)


@router.get(
    "/campaigns/{campaign_id:anytext}",
    response_model=CampaignOut,
    responses=ON_ITEM,
    tags=["catalog"],
)
async def get_campaign(
    campaign_id: CampaignIdPath, catalog: CatalogReader, response: Response
) -> dict[str, Any]:
    item = await editing.get_item(catalog, kind=Kind.CAMPAIGNS, item_id=campaign_id)
    return _with_etag(item, response)


@router.patch(
    "/campaigns/{campaign_id:anytext}",
    response_model=CampaignOut,
    responses=ON_PATCH,
    tags=["catalog"],
)
async def update_campaign(
    campaign_id: CampaignIdPath,
    body: CampaignPatch,
    catalog: CatalogWriter,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Rename, pause, archive or reactivate; with `If-Match`, only if unchanged since."""
    changes = Changes(name=body.campaign_name, status=body.status)
    return await _update(catalog, Kind.CAMPAIGNS, campaign_id, changes, if_match, response)


@router.delete(
    "/campaigns/{campaign_id:anytext}", status_code=204, responses=ON_DELETE, tags=["catalog"]
)
async def delete_campaign(
    campaign_id: CampaignIdPath, catalog: CatalogWriter, if_match: IfMatch = None
) -> Response:
    """Only a campaign without metric rows (archive the others); its thresholds go too."""
    return await _delete(catalog, Kind.CAMPAIGNS, campaign_id, if_match)


@router.get("/creators", response_model=CreatorPageOut, responses=ON_PAGE, tags=["catalog"])
async def list_creators(
    catalog: CatalogReader,
    codec: Codec,
    caller: Caller,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
    updated_since: UpdatedSince = None,
) -> dict[str, Any]:
    """The tenant's creators, oldest change first: follow `next_cursor` to sync."""
    return await _page(catalog, codec, caller, Kind.CREATORS, limit, cursor, updated_since)


@router.post(
    "/creators",
    status_code=201,
    response_model=CreatorOut,
    responses={**WRITE, **CREATED},
    tags=["catalog"],
)
async def create_creator(
    body: CreatorIn,
    catalog: CatalogWriter,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A new creator, e.g. before its first metrics arrive."""
    return await _create(catalog, request, Kind.CREATORS, body, idempotency_key)


@router.get(
    "/creators/{creator_id:anytext}",
    response_model=CreatorOut,
    responses=ON_ITEM,
    tags=["catalog"],
)
async def get_creator(
    creator_id: CampaignIdPath, catalog: CatalogReader, response: Response
) -> dict[str, Any]:
    item = await editing.get_item(catalog, kind=Kind.CREATORS, item_id=creator_id)
    return _with_etag(item, response)


@router.patch(
    "/creators/{creator_id:anytext}",
    response_model=CreatorOut,
    responses=ON_PATCH,
    tags=["catalog"],
)
async def update_creator(
    creator_id: CampaignIdPath,
    body: CreatorPatch,
    catalog: CatalogWriter,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Rename; with `If-Match`, only if unchanged since."""
    changes = Changes(name=body.creator_name)
    return await _update(catalog, Kind.CREATORS, creator_id, changes, if_match, response)


@router.delete(
    "/creators/{creator_id:anytext}", status_code=204, responses=ON_DELETE, tags=["catalog"]
)
async def delete_creator(
    creator_id: CampaignIdPath, catalog: CatalogWriter, if_match: IfMatch = None
) -> Response:
    """Only a creator without metric rows."""
    return await _delete(catalog, Kind.CREATORS, creator_id, if_match)
