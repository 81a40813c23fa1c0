"""Use cases of the editable catalog (CONTRACT.md §7)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any

from analytics.domain.catalog import (
    AlreadyExists,
    CampaignStatus,
    CatalogItem,
    CatalogRepository,
    Kind,
    NotFound,
    Outcome,
    Page,
    Position,
    StoredThresholds,
    ThresholdsNotFound,
    document,
)
from analytics.domain.catalog_cursors import CursorCodec
from analytics.domain.identifiers import id_problem
from analytics.domain.models import ComponentStatus, Thresholds
from analytics.domain.ports import BenchmarkGateway


async def list_page(
    repository: CatalogRepository,
    codec: CursorCodec,
    *,
    tenant_id: str,
    kind: Kind,
    cursor: str | None,
    since: dt.datetime | None,
    limit: int,
) -> Page:
    """One page in (updated_at, id) order. One row more than asked for is read, so
    `has_more` is exact; the cursor points after the last row returned."""
    after = None if cursor is None else codec.decode(tenant_id, kind, cursor)
    rows = await repository.page(kind=kind, after=after, since=since, limit=limit + 1)
    items, has_more = tuple(rows[:limit]), len(rows) > limit
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = codec.encode(tenant_id, kind, Position(last.updated_at, last.item_id))
    return Page(items, next_cursor, has_more)


async def get_item(repository: CatalogRepository, *, kind: Kind, item_id: str) -> CatalogItem:
    found = None if id_problem(item_id) else await repository.get(kind=kind, item_id=item_id)
    if found is None:
        raise NotFound(kind, item_id)
    return found


def fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    """What makes two requests with one Idempotency-Key "the same": method, path and the
    body's JSON value (key order and whitespace do not count)."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_item(
    repository: CatalogRepository,
    *,
    kind: Kind,
    item_id: str,
    name: str,
    status: CampaignStatus | None,
    idempotency: tuple[str, str] | None,
) -> Outcome:
    """Create a campaign or creator: 201 with the resource, or 409 when the id exists.

    With an Idempotency-Key (key, fingerprint) the first outcome is recorded (in the write's
    own transaction for a 201) and replayed to every retry for 24 hours; a failure releases
    the key, so that a retry can succeed."""
    if idempotency is None:
        created = await repository.create(
            kind=kind, item_id=item_id, name=name, status=status, idempotency_key=None
        )
        return Outcome(201, document(created))
    key, print_ = idempotency
    replay = await repository.claim(key=key, fingerprint=print_)
    if replay is not None:
        return replay
    try:
        created = await repository.create(
            kind=kind, item_id=item_id, name=name, status=status, idempotency_key=key
        )
    except AlreadyExists as error:
        outcome = Outcome(409, {"detail": str(error)})
        await repository.settle(key=key, outcome=outcome)
        return outcome
    except BaseException:
        await repository.settle(key=key, outcome=None)
        raise
    return Outcome(201, document(created))


async def stored_thresholds(repository: CatalogRepository, *, campaign_id: str) -> Any:
    found = await repository.thresholds(campaign_id=campaign_id)
    if found is None:
        if await repository.get(kind=Kind.CAMPAIGNS, item_id=campaign_id) is None:
            raise NotFound(Kind.CAMPAIGNS, campaign_id)
        raise ThresholdsNotFound(campaign_id)
    return found


class StoredThresholdsFirst:
    """A `BenchmarkGateway`: the campaign's stored thresholds when it has some, else the
    configured source (fixture file, then benchmark service) - CONTRACT.md §7."""

    def __init__(
        self, stored: Awaitable[StoredThresholds | None], fallback: BenchmarkGateway
    ) -> None:
        self._stored = stored
        self._fallback = fallback

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        stored = await self._stored
        if stored is not None:
            return stored.thresholds
        return await self._fallback.thresholds_for(campaign_id=campaign_id)

    async def status(self) -> ComponentStatus:
        return await self._fallback.status()


class TenantStoredThresholdsFirst:
    """A `BenchmarkGateway` for a scan of one tenant (CONTRACT.md §7, §9): the stored
    thresholds of every campaign, read once in one query at the first lookup, then the
    configured source for the campaigns without any, as `/campaigns/{id}/anomalies`."""

    def __init__(self, repository: CatalogRepository, fallback: BenchmarkGateway) -> None:
        self._repository = repository
        self._fallback = fallback
        self._stored: asyncio.Future[dict[str, Thresholds]] | None = None

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        if self._stored is None:  # concurrent lookups share the one read
            self._stored = asyncio.ensure_future(self._repository.every_thresholds())
        stored = await asyncio.shield(self._stored)
        if campaign_id in stored:
            return stored[campaign_id]
        return await self._fallback.thresholds_for(campaign_id=campaign_id)

    async def status(self) -> ComponentStatus:
        return await self._fallback.status()


@contextlib.asynccontextmanager
async def stored_thresholds_first(
    repository: CatalogRepository, fallback: BenchmarkGateway, *, campaign_id: str
) -> AsyncIterator[StoredThresholdsFirst]:
    """The gateway for one anomalies request. The stored thresholds are read while the
    campaign's metrics are, not after them: one request then waits for the store at most
    once its deadline, not twice."""

    async def nothing() -> None:
        return None

    lookup = (
        nothing() if id_problem(campaign_id) else repository.thresholds(campaign_id=campaign_id)
    )
    task = asyncio.ensure_future(lookup)
    # unused (a 404, a failure): its outcome is read so that asyncio does not report it
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        yield StoredThresholdsFirst(task, fallback)
    finally:
        task.cancel()
