"""What the feed routers (`/alerts`, `/jobs/runs`) need, built by the composition root and
read from `app.state.feeds`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from analytics.api.feed_cursors import CursorSigner
from analytics.domain.alerts import StoredAlert
from analytics.domain.jobs import FeedPosition, JobRunView


class TenantFeed(Protocol):
    async def alerts(
        self,
        *,
        limit: int,
        after: FeedPosition | None = None,
        campaign_id: str | None = None,
        since: dt.datetime | None = None,
        rule: str | None = None,
    ) -> list[StoredAlert]: ...

    async def job_runs(
        self, *, limit: int, after: FeedPosition | None = None
    ) -> list[JobRunView]: ...


class TenantFeeds(Protocol):
    def __call__(self, tenant_id: str) -> TenantFeed: ...


@dataclass(frozen=True, slots=True)
class Feeds:
    for_tenant: TenantFeeds
    cursors: CursorSigner


def feeds_of(request: Request) -> Feeds:
    return request.app.state.feeds


FeedsDep = Annotated[Feeds, Depends(feeds_of)]


def utc_text(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with `Z`."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def page(items: list[Any], limit: int) -> tuple[list[Any], bool]:
    """A page of at most `limit` items from `limit + 1` fetched, and whether more exist."""
    return items[:limit], len(items) > limit
