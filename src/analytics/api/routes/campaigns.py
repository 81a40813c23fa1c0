"""Campaign questions (CONTRACT.md §4): parse the request, call one use case, shape the answer.

Every handler gets the caller's tenant's repository: the scoping is in the data layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from analytics.api.auth import ServicesDep, TenantRepository
from analytics.api.catalog_http import CatalogReader
from analytics.api.errors import BENCHMARK_UNAVAILABLE, STORE_UNAVAILABLE
from analytics.api.parameters import CampaignIdPath, CampaignIdQuery, CreatorLimit
from analytics.api.rendering import JsonBytes, anomalies_json, performance_json, ranking_json
from analytics.api.schemas import (
    AnomaliesOut,
    CampaignPerformanceOut,
    ErrorOut,
    HealthOut,
    TopCreatorsOut,
    ValidationErrorOut,
)
from analytics.domain import anomalies, health, performance, ranking
from analytics.domain.editing import stored_thresholds_first


def _error(description: str, detail: str) -> dict[str, Any]:
    return {
        "model": ErrorOut,
        "description": description,
        "content": {"application/json": {"example": {"detail": detail}}},
    }


INVALID = {
    "422": {
        "model": ValidationErrorOut,
        "description": "A parameter is invalid: `loc` names it, `msg` says why",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {
                            "type": "less_than_equal",
                            "loc": ["query", "limit"],
                            "msg": "Input should be less than or equal to 1000",
                            "input": "5000",
                        }
                    ]
                }
            }
        },
    }
}
UNAUTHENTICATED = {
    401: _error(
        "No credentials where they are required, or an invalid key", "authentication required"
    )
}
NOT_FOUND = {404: _error("The campaign does not exist", "campaign 'cmp-404' not found")}
STORE_DOWN = {503: _error("The metrics store did not answer", STORE_UNAVAILABLE)}
NO_THRESHOLDS = {502: _error("Thresholds could not be had", BENCHMARK_UNAVAILABLE)}

# The three questions render their answers once, with orjson (api/rendering.py: the same
# bytes the response models give); the response models document them. /health returns its
# domain value, validated and serialised through its response model.
router = APIRouter()


@router.get(
    "/health", response_model=HealthOut, response_model_exclude_none=True, tags=["operations"]
)
async def get_health(services: ServicesDep, request: Request) -> HealthOut:
    """Probes the database (`SELECT 1`) and the benchmark source. Always 200: `status` says
    whether the instance can answer (`ok`) or not (`degraded`). With REDIS_URL set, `cache`
    says whether Redis answers (`ok`, `error`; `off` when nothing uses it); the service
    answers without it, so it does not change `status`."""
    report = await health.service_health(
        services.metrics,
        services.gateway,
        dataset=services.dataset,
        dataset_tenant=None
        if services.anonymous_tenant is None
        else services.metrics.for_tenant(services.anonymous_tenant),
    )
    answer = HealthOut.model_validate(report)
    cache_state = request.app.state.cache_state
    if cache_state is not None:
        answer.cache = await cache_state()
    return answer


@router.get(
    "/campaigns/{campaign_id:anytext}/performance",
    response_model=CampaignPerformanceOut,
    responses={**UNAUTHENTICATED, **NOT_FOUND, **INVALID, **STORE_DOWN},
    tags=["campaigns"],
)
async def get_campaign_performance(
    campaign_id: CampaignIdPath, repository: TenantRepository
) -> JsonBytes:
    """Totals with CTR, CVR and ROAS over every metric row of the campaign."""
    result = await performance.campaign_performance(repository, campaign_id=campaign_id)
    return JsonBytes(performance_json(result))


@router.get(
    "/creators/top",
    response_model=TopCreatorsOut,
    responses={**UNAUTHENTICATED, **NOT_FOUND, **INVALID, **STORE_DOWN},
    tags=["creators"],
)
async def get_top_creators(
    repository: TenantRepository,
    campaign_id: CampaignIdQuery,
    limit: CreatorLimit = ranking.DEFAULT_LIMIT,
) -> JsonBytes:
    """Creators ranked by conversions, then clicks (both desc), then creator_id."""
    result = await ranking.top_creators(repository, campaign_id=campaign_id, limit=limit)
    return JsonBytes(ranking_json(result))


@router.get(
    "/campaigns/{campaign_id:anytext}/anomalies",
    response_model=AnomaliesOut,
    responses={**UNAUTHENTICATED, **NOT_FOUND, **INVALID, **NO_THRESHOLDS, **STORE_DOWN},
    tags=["campaigns"],
)
async def get_anomalies(
    campaign_id: CampaignIdPath,
    repository: TenantRepository,
    services: ServicesDep,
    catalog: CatalogReader,
) -> JsonBytes:
    """Days below the campaign's CTR or ROAS thresholds (stored ones first, then the fixture
    file, then the benchmark service), or that spent without converting."""
    async with stored_thresholds_first(
        catalog, services.gateway, campaign_id=campaign_id
    ) as gateway:
        report = await anomalies.detect_anomalies(repository, gateway, campaign_id=campaign_id)
    return JsonBytes(anomalies_json(report))
