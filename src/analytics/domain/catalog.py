"""The editable catalog (CONTRACT.md §7): campaigns, creators and stored thresholds, their
rules, errors and the port that stores them."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from analytics.domain.errors import AnalyticsError
from analytics.domain.models import Thresholds

MAX_NAME_LENGTH = 200


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Kind(StrEnum):
    """A catalog list: names the resource in messages, paths and cursors."""

    CAMPAIGNS = "campaigns"
    CREATORS = "creators"

    @property
    def singular(self) -> str:
        return self.value.removesuffix("s")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """A campaign (with a status) or a creator (status None)."""

    kind: Kind
    item_id: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: CampaignStatus | None = None


@dataclass(frozen=True, slots=True)
class StoredThresholds:
    thresholds: Thresholds
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Changes:
    """A PATCH: the fields to set (None: unchanged)."""

    name: str | None = None
    status: CampaignStatus | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: strictly after (updated_at, item_id)."""

    updated_at: dt.datetime
    item_id: str


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[CatalogItem, ...]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """A POST's answer as it is replayed for its Idempotency-Key: status and JSON body."""

    status_code: int
    body: Mapping[str, Any]


class NotFound(AnalyticsError):
    def __init__(self, kind: Kind, item_id: str) -> None:
        super().__init__(f"{kind.singular} '{item_id}' not found")


class ThresholdsNotFound(AnalyticsError):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign '{campaign_id}' has no stored thresholds")


class AlreadyExists(AnalyticsError):
    def __init__(self, kind: Kind, item_id: str) -> None:
        super().__init__(f"{kind.singular} '{item_id}' already exists")


class HasMetrics(AnalyticsError):
    def __init__(self, kind: Kind, item_id: str) -> None:
        advice = "archive it instead" if kind is Kind.CAMPAIGNS else "it stays in the catalog"
        super().__init__(f"{kind.singular} '{item_id}' has metric rows: {advice}")


class PreconditionFailed(AnalyticsError):
    def __init__(self) -> None:
        super().__init__("If-Match does not match the current ETag: nothing was changed")


class InvalidCursor(AnalyticsError):
    """A cursor that was not made by this service for this tenant and list."""


class IdempotencyKeyReused(AnalyticsError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with another request body")


class IdempotencyKeyInFlight(AnalyticsError):
    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in flight")


def name_problem(name: str) -> str | None:
    """Why a (trimmed) name cannot be stored, or None: 1-200 characters, no control
    characters (Unicode category Cc)."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    if any(unicodedata.category(character) == "Cc" for character in name):
        return "must not contain control characters"
    return None


def etag_of(updated_at: dt.datetime) -> str:
    """A strong entity tag: the version is the row's `updated_at`, unique per tenant."""
    micros = round(updated_at.timestamp() * 1_000_000)
    return f'"{micros:x}"'


def etag_matches(if_match: str | None, updated_at: dt.datetime) -> bool:
    """RFC 9110 If-Match (strong comparison): absent or `*` match any current version."""
    if if_match is None or if_match.strip() == "*":
        return True
    current = etag_of(updated_at)
    return any(tag.strip() == current for tag in if_match.split(","))


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document(item: CatalogItem) -> dict[str, Any]:
    """The resource's JSON body, exactly the contract's keys."""
    if item.kind is Kind.CAMPAIGNS:
        return {
            "campaign_id": item.item_id,
            "campaign_name": item.name,
            "status": str(item.status),
            "created_at": rfc3339(item.created_at),
            "updated_at": rfc3339(item.updated_at),
        }
    return {
        "creator_id": item.item_id,
        "creator_name": item.name,
        "created_at": rfc3339(item.created_at),
        "updated_at": rfc3339(item.updated_at),
    }


class CatalogRepository(Protocol):
    """One tenant's catalog. Every write runs in one transaction that first takes the
    tenant's catalog clock (so `updated_at` strictly increases in commit order) and checks
    `if_match` under that lock; methods raise `RepositoryUnavailable` when the store fails."""

    async def page(
        self, *, kind: Kind, after: Position | None, since: dt.datetime | None, limit: int
    ) -> list[CatalogItem]:
        """Up to `limit` items ordered by (updated_at, id), strictly after `after`."""
        ...

    async def get(self, *, kind: Kind, item_id: str) -> CatalogItem | None: ...

    async def create(
        self,
        *,
        kind: Kind,
        item_id: str,
        name: str,
        status: CampaignStatus | None,
        idempotency_key: str | None,
    ) -> CatalogItem:
        """`AlreadyExists`; with a key, the 201 outcome is recorded in the same transaction."""
        ...

    async def update(
        self, *, kind: Kind, item_id: str, changes: Changes, if_match: str | None
    ) -> CatalogItem:
        """`NotFound`, `PreconditionFailed`."""
        ...

    async def delete(self, *, kind: Kind, item_id: str, if_match: str | None) -> None:
        """`NotFound`, `PreconditionFailed`, `HasMetrics` (checked under the clock lock,
        which a load also takes before it publishes metric rows)."""
        ...

    async def thresholds(self, *, campaign_id: str) -> StoredThresholds | None: ...

    async def every_thresholds(self) -> dict[str, Thresholds]:
        """The stored thresholds of every campaign of the tenant that has some."""
        ...

    async def put_thresholds(
        self, *, campaign_id: str, thresholds: Thresholds, if_match: str | None
    ) -> StoredThresholds:
        """`NotFound` (no campaign), `PreconditionFailed`."""
        ...

    async def delete_thresholds(self, *, campaign_id: str, if_match: str | None) -> None:
        """`ThresholdsNotFound`, `PreconditionFailed`."""
        ...

    async def claim(self, *, key: str, fingerprint: str) -> Outcome | None:
        """Claim an Idempotency-Key (None: go ahead), or the recorded outcome to replay.
        `IdempotencyKeyReused` for another fingerprint, `IdempotencyKeyInFlight` while the
        first request runs. Expired keys (24 h) are purged here."""
        ...

    async def settle(self, *, key: str, outcome: Outcome | None) -> None:
        """Record a claimed key's outcome, or release the claim (None) after a failure."""
        ...
