"""The alert feed (CONTRACT.md §9): the caller's tenant's stored alerts, oldest first,
paginated by keyset on (created_at, alert_id) with signed cursors."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator

from analytics.api.auth import Viewer
from analytics.api.feed_cursors import binding
from analytics.api.feeds import FeedsDep, page, utc_text
from analytics.api.parameters import _plain_digits
from analytics.domain.alerts import RULES, StoredAlert
from analytics.domain.identifiers import MAX_ID_LENGTH
from analytics.domain.jobs import FeedPosition

router = APIRouter(tags=["alerts"])
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
AlertRule = StrEnum("AlertRule", {rule: rule for rule in RULES})  # type: ignore[misc]


def _rfc3339(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 time with an offset, e.g. 2026-01-05T00:00:00Z")
    return value


Limit = Annotated[
    int,
    BeforeValidator(_plain_digits),
    Query(ge=1, le=1000, description="items per page (1 to 1000)"),
]
Cursor = Annotated[
    str | None,
    Query(max_length=1000, description="`next_cursor` of the previous page, as it was given"),
]
Since = Annotated[
    dt.datetime | None,
    BeforeValidator(_rfc3339),
    Query(description="only alerts created at or after this RFC 3339 time"),
]


class AlertOut(BaseModel):
    alert_id: str
    campaign_id: str
    metric_date: dt.date
    rule: str
    detail: dict[str, Any]
    created_at: str

    @classmethod
    def of(cls, alert: StoredAlert) -> AlertOut:
        return cls(
            alert_id=alert.alert_id,
            campaign_id=alert.campaign_id,
            metric_date=alert.metric_date,
            rule=alert.rule,
            detail=alert.detail,
            created_at=utc_text(alert.created_at),
        )


class AlertPageOut(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None
    has_more: bool


@router.get("/alerts", response_model=AlertPageOut)
async def list_alerts(
    principal: Viewer,
    feeds: FeedsDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    campaign_id: Annotated[str | None, Query(max_length=MAX_ID_LENGTH)] = None,
    since: Since = None,
    rule: Annotated[AlertRule | None, Query(description="only alerts of this rule")] = None,
) -> AlertPageOut:
    """The tenant's stored alerts, oldest first; follow `next_cursor` while `has_more`."""
    rule_name = None if rule is None else rule.value
    bound = binding("alerts", principal.tenant_id, campaign_id, since, rule_name)
    after = None if cursor is None else feeds.cursors.decode(cursor, binding=bound)
    found = await feeds.for_tenant(principal.tenant_id).alerts(
        limit=limit + 1, after=after, campaign_id=campaign_id, since=since, rule=rule_name
    )
    items, has_more = page(found, limit)
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = feeds.cursors.encode(
            FeedPosition(last.created_at, last.alert_id), binding=bound
        )
    return AlertPageOut(
        items=[AlertOut.of(a) for a in items], next_cursor=next_cursor, has_more=has_more
    )
