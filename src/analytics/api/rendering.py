"""The Part I answers (CONTRACT.md §4) rendered straight from domain values with orjson.

Each function gives exactly the bytes FastAPI produced through the route's response model
(Pydantic's JSON serialiser): the same keys in the same order, money and rates as floats
(`float(Decimal)`, as Pydantic converts them), dates as `YYYY-MM-DD`, text as UTF-8. orjson
and Pydantic print floats and escape text identically (checked over random floats and text
in tests/unit/test_rendering.py, and by the byte-exact contract tests). The response models
stay on the routes for the OpenAPI document; only the per-request validation and
serialisation through them is skipped.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

from analytics.api.schemas import AnomaliesOut, CampaignPerformanceOut, TopCreatorsOut
from analytics.domain.models import AnomalyReport, CampaignPerformance, CreatorRanking


class JsonBytes(Response):
    """An `application/json` answer whose body is already rendered."""

    media_type = "application/json"


def _rendered(content: dict[str, Any], model: type[BaseModel], value: object) -> bytes:
    """orjson's bytes; through the response model when a count is beyond 64 bits (sums are
    NUMERIC(38, 0)), which orjson refuses and Pydantic prints as digits."""
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        return model.model_validate(value).model_dump_json().encode()


def performance_json(performance: CampaignPerformance) -> bytes:
    t = performance.totals
    return _rendered(
        {
            "campaign_id": performance.campaign_id,
            "campaign_name": performance.campaign_name,
            "totals": {
                "total_impressions": t.total_impressions,
                "total_clicks": t.total_clicks,
                "total_conversions": t.total_conversions,
                "total_spend": float(t.total_spend),
                "total_revenue": float(t.total_revenue),
                "ctr": t.ctr,
                "cvr": t.cvr,
                "roas": t.roas,
            },
        },
        CampaignPerformanceOut,
        performance,
    )


def ranking_json(ranking: CreatorRanking) -> bytes:
    creators: list[dict[str, Any]] = [
        {
            "campaign_id": c.campaign_id,
            "creator_id": c.creator_id,
            "creator_name": c.creator_name,
            "total_impressions": c.total_impressions,
            "total_clicks": c.total_clicks,
            "total_conversions": c.total_conversions,
            "total_spend": float(c.total_spend),
            "ctr": c.ctr,
        }
        for c in ranking.creators
    ]
    content = {"campaign_id": ranking.campaign_id, "limit": ranking.limit, "creators": creators}
    return _rendered(content, TopCreatorsOut, ranking)


def anomalies_json(report: AnomalyReport) -> bytes:
    thresholds = report.thresholds
    alerts: list[dict[str, Any]] = [
        {
            "metric_date": alert.metric_date,
            "issues": [issue.value for issue in alert.issues],
            "ctr": alert.ctr,
            "roas": alert.roas,
        }
        for alert in report.alerts
    ]
    return _rendered(
        {
            "campaign_id": report.campaign_id,
            "thresholds": {
                "min_ctr": float(thresholds.min_ctr),
                "min_roas": float(thresholds.min_roas),
            },
            "alerts": alerts,
        },
        AnomaliesOut,
        report,
    )
