"""Scheduled jobs and their runs (CONTRACT.md §9): values shared by the scheduler, the
stores and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

RUNNING, SUCCEEDED, PARTIAL, FAILED, ABANDONED = (
    "running",
    "succeeded",
    "partial",  # finished, but some campaigns could not be checked (see its detail)
    "failed",  # the job raised: logged with its traceback
    "abandoned",  # its process stopped answering (killed, crashed) while it ran
)


@dataclass(frozen=True, slots=True)
class FeedPosition:
    """Where a page of a feed ended: (time, id) of its last item."""

    at: dt.datetime
    key: str


@dataclass(frozen=True, slots=True)
class JobRunView:
    """A run as one tenant sees it: global times and status, that tenant's detail only."""

    run_id: str
    job: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobRun:
    """A run as the operator sees it (`analytics jobs list`)."""

    run_id: str
    job: str
    due_at: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    detail: dict[str, Any]
