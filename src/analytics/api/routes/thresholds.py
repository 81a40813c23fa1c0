"""A campaign's stored anomaly thresholds (CONTRACT.md §7): they come before the fixture file
and the benchmark service for `/campaigns/{id}/anomalies`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response

from analytics.api.catalog_http import (
    COMMON,
    ETAG_HEADER,
    INVALID,
    NOT_FOUND,
    STALE,
    WRITE,
    CatalogReader,
    CatalogWriter,
    IfMatch,
    StoredThresholdsOut,
    ThresholdsIn,
)
from analytics.api.parameters import CampaignIdPath
from analytics.domain import editing
from analytics.domain.catalog import Kind, NotFound, StoredThresholds, etag_of
from analytics.domain.identifiers import id_problem
from analytics.domain.models import Thresholds

router = APIRouter(tags=["catalog"])
OK = {200: {"description": "OK", "headers": ETAG_HEADER}}
PATH = "/campaigns/{campaign_id:anytext}/thresholds"


def _answer(stored: StoredThresholds, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = etag_of(stored.updated_at)
    values = stored.thresholds
    return {"min_ctr": float(values.min_ctr), "min_roas": float(values.min_roas)}


def _existing(campaign_id: str) -> None:
    if id_problem(campaign_id) is not None:
        raise NotFound(Kind.CAMPAIGNS, campaign_id)


@router.get(PATH, response_model=StoredThresholdsOut, responses={**COMMON, **NOT_FOUND, **OK})
async def get_thresholds(
    campaign_id: CampaignIdPath, catalog: CatalogReader, response: Response
) -> dict[str, Any]:
    """404 when the campaign does not exist or has no stored thresholds."""
    _existing(campaign_id)
    stored = await editing.stored_thresholds(catalog, campaign_id=campaign_id)
    return _answer(stored, response)


@router.put(
    PATH, response_model=StoredThresholdsOut, responses={**WRITE, **NOT_FOUND, **STALE, **OK}
)
async def put_thresholds(
    campaign_id: CampaignIdPath,
    body: ThresholdsIn,
    catalog: CatalogWriter,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Store the campaign's thresholds (finite numbers ≥ 0), replacing any stored before."""
    _existing(campaign_id)
    values = Thresholds(Decimal(repr(body.min_ctr)), Decimal(repr(body.min_roas)))
    stored = await catalog.put_thresholds(
        campaign_id=campaign_id, thresholds=values, if_match=if_match
    )
    return _answer(stored, response)


@router.delete(PATH, status_code=204, responses={**WRITE, **NOT_FOUND, **STALE, **INVALID})
async def delete_thresholds(
    campaign_id: CampaignIdPath, catalog: CatalogWriter, if_match: IfMatch = None
) -> Response:
    """Forget the stored thresholds: the fixture file or benchmark service apply again."""
    _existing(campaign_id)
    await catalog.delete_thresholds(campaign_id=campaign_id, if_match=if_match)
    return Response(status_code=204)
