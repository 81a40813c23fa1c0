"""Routers: parse the request, call one use case, shape the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from analytics.api.schemas import (
    AnomaliesOut,
    CampaignPerformanceOut,
    ErrorOut,
    HealthOut,
    TopCreatorsOut,
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


ServicesDep = Annotated[Services, Depends(_services)]
NOT_FOUND = {404: {"model": ErrorOut, "description": "The campaign does not exist"}}

# Handlers return domain values; FastAPI validates and serialises each one once, through the
# route's response_model (the schemas read attributes).
router = APIRouter()


@router.get("/health", response_model=HealthOut, tags=["operations"])
async def get_health(services: ServicesDep) -> HealthReport:
    """Probes the database (`SELECT 1`) and the benchmark source."""
    report = await health.service_health(
        services.repository, services.gateway, dataset=services.dataset
    )
    return report


@router.get(
    "/campaigns/{campaign_id:path}/performance",
    response_model=CampaignPerformanceOut,
    responses=NOT_FOUND,
    tags=["campaigns"],
)
async def get_campaign_performance(campaign_id: str, services: ServicesDep) -> CampaignPerformance:
    """Totals with CTR, CVR and ROAS over every metric row of the campaign."""
    result = await performance.campaign_performance(services.repository, campaign_id=campaign_id)
    return result


@router.get("/creators/top", response_model=TopCreatorsOut, responses=NOT_FOUND, tags=["creators"])
async def get_top_creators(
    services: ServicesDep,
    campaign_id: Annotated[str, Query(description="campaign to rank the creators of")],
    limit: Annotated[
        int, Query(ge=ranking.MIN_LIMIT, le=ranking.MAX_LIMIT, description="how many creators")
    ] = ranking.DEFAULT_LIMIT,
) -> CreatorRanking:
    """Creators ranked by conversions, then clicks (both desc), then creator_id."""
    result = await ranking.top_creators(services.repository, campaign_id=campaign_id, limit=limit)
    return result


@router.get(
    "/campaigns/{campaign_id:path}/anomalies",
    response_model=AnomaliesOut,
    responses={
        **NOT_FOUND,
        502: {"model": ErrorOut, "description": "Thresholds could not be had"},
    },
    tags=["campaigns"],
)
async def get_anomalies(campaign_id: str, services: ServicesDep) -> AnomalyReport:
    """Days below the campaign's CTR or ROAS thresholds, or that spent without converting."""
    result = await anomalies.detect_anomalies(
        services.repository, services.gateway, campaign_id=campaign_id
    )
    return result
