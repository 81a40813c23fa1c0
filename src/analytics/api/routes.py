"""Routers: parse the request, call one use case, shape the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from analytics.api.errors import BENCHMARK_UNAVAILABLE, STORE_UNAVAILABLE
from analytics.api.parameters import CampaignIdPath, CampaignIdQuery, CreatorLimit
from analytics.api.schemas import (
    AnomaliesOut,
    CampaignPerformanceOut,
    ErrorOut,
    HealthOut,
    TopCreatorsOut,
    ValidationErrorOut,
)
from analytics.domain import anomalies, health, performance, ranking
from analytics.domain.models import AnomalyReport, CampaignPerformance, CreatorRanking, HealthReport
from analytics.domain.ports import BenchmarkGateway, CampaignMetricsRepository


@dataclass(frozen=True, slots=True)
class Services:
    """What the routers need, built by the composition root."""

    repository: CampaignMetricsRepository
    gateway: BenchmarkGateway
    dataset: str | None  # None: as the database's load ledger says


def _services(request: Request) -> Services:
    return request.app.state.services


def _error(description: str, detail: str) -> dict[str, Any]:
    return {
        "model": ErrorOut,
        "description": description,
        "content": {"application/json": {"example": {"detail": detail}}},
    }


ServicesDep = Annotated[Services, Depends(_services)]
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
NOT_FOUND = {404: _error("The campaign does not exist", "campaign 'cmp-404' not found")}
STORE_DOWN = {503: _error("The metrics store did not answer", STORE_UNAVAILABLE)}
NO_THRESHOLDS = {502: _error("Thresholds could not be had", BENCHMARK_UNAVAILABLE)}

# Handlers return domain values; FastAPI validates and serialises each one once, through the
# route's response_model (the schemas read attributes).
router = APIRouter()


@router.get("/health", response_model=HealthOut, tags=["operations"])
async def get_health(services: ServicesDep) -> HealthReport:
    """Probes the database (`SELECT 1`) and the benchmark source. Always 200: `status` says
    whether the instance can answer (`ok`) or not (`degraded`)."""
    report = await health.service_health(
        services.repository, services.gateway, dataset=services.dataset
    )
    return report


@router.get(
    "/campaigns/{campaign_id:anytext}/performance",
    response_model=CampaignPerformanceOut,
    responses={**NOT_FOUND, **INVALID, **STORE_DOWN},
    tags=["campaigns"],
)
async def get_campaign_performance(
    campaign_id: CampaignIdPath, services: ServicesDep
) -> CampaignPerformance:
    """Totals with CTR, CVR and ROAS over every metric row of the campaign."""
    result = await performance.campaign_performance(services.repository, campaign_id=campaign_id)
    return result


@router.get(
    "/creators/top",
    response_model=TopCreatorsOut,
    responses={**NOT_FOUND, **INVALID, **STORE_DOWN},
    tags=["creators"],
)
async def get_top_creators(
    services: ServicesDep,
    campaign_id: CampaignIdQuery,
    limit: CreatorLimit = ranking.DEFAULT_LIMIT,
) -> CreatorRanking:
    """Creators ranked by conversions, then clicks (both desc), then creator_id."""
    result = await ranking.top_creators(services.repository, campaign_id=campaign_id, limit=limit)
    return result


@router.get(
    "/campaigns/{campaign_id:anytext}/anomalies",
    response_model=AnomaliesOut,
    responses={**NOT_FOUND, **INVALID, **NO_THRESHOLDS, **STORE_DOWN},
    tags=["campaigns"],
)
async def get_anomalies(campaign_id: CampaignIdPath, services: ServicesDep) -> AnomalyReport:
    """Days below the campaign's CTR or ROAS thresholds, or that spent without converting."""
    result = await anomalies.detect_anomalies(
        services.repository, services.gateway, campaign_id=campaign_id
    )
    return result
