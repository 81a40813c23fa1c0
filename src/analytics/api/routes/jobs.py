"""Job runs (CONTRACT.md §9), for a tenant's admins: every run of the scheduled jobs with
its global times and status, and only that tenant's part of its detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from analytics.api.auth import Admin
from analytics.api.feed_cursors import binding
from analytics.api.feeds import FeedsDep, page, utc_text
from analytics.api.routes.alerts import Cursor, Limit
from analytics.domain.jobs import FeedPosition, JobRunView

router = APIRouter(tags=["jobs"])


class JobRunOut(BaseModel):
    run_id: str
    job: str
    started_at: str
    finished_at: str | None
    status: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, run: JobRunView) -> JobRunOut:
        return cls(
            run_id=run.run_id,
            job=run.job,
            started_at=utc_text(run.started_at),
            finished_at=None if run.finished_at is None else utc_text(run.finished_at),
            status=run.status,
            detail=run.detail,
        )


class JobRunPageOut(BaseModel):
    items: list[JobRunOut]
    next_cursor: str | None
    has_more: bool


@router.get("/jobs/runs", response_model=JobRunPageOut)
async def list_job_runs(
    principal: Admin, feeds: FeedsDep, limit: Limit = 100, cursor: Cursor = None
) -> JobRunPageOut:
    """Job runs, oldest first (keyset on started_at, run_id); `detail` holds what the run
    did for the caller's tenant only (`{}` for a run with nothing of it)."""
    bound = binding("job_runs", principal.tenant_id)
    after = None if cursor is None else feeds.cursors.decode(cursor, binding=bound)
    found = await feeds.for_tenant(principal.tenant_id).job_runs(limit=limit + 1, after=after)
    items, has_more = page(found, limit)
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = feeds.cursors.encode(
            FeedPosition(last.started_at, last.run_id), binding=bound
        )
    return JobRunPageOut(
        items=[JobRunOut.of(r) for r in items], next_cursor=next_cursor, has_more=has_more
    )
