"""Building the serving path from the settings: the result cache, the dataset versions and
the rate limits, in Redis when REDIS_URL is set and in process otherwise."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine

import analytics
from analytics.adapters.cache_versions import EmbeddedDatasetVersions, versions_readable
from analytics.adapters.postgres_versions import PostgresDatasetVersions
from analytics.adapters.rate_limits import MemoryRateLimiter, Quota, RedisRateLimiter
from analytics.adapters.redis_link import RedisLink
from analytics.adapters.result_cache import (
    MemoryResultCache,
    RedisResultCache,
    TieredResultCache,
)
from analytics.api.services import Services
from analytics.api.serving import ANONYMOUS, RateLimiter, ResultCache, Serving, ServingHooks
from analytics.domain.access import Role
from analytics.domain.models import Thresholds
from analytics.settings import Settings, rate_limit

CACHE_FORMAT = "1"  # bump when the stored form of an answer changes


@dataclass(frozen=True, slots=True)
class ServingParts:
    serving: Serving
    redis: RedisLink | None
    versions: PostgresDatasetVersions | EmbeddedDatasetVersions | None

    async def close(self) -> None:
        if isinstance(self.versions, PostgresDatasetVersions):
            await self.versions.close()
        if self.redis is not None:
            await self.redis.close()

    def abandon(self) -> None:
        """Close the database connection of the version reads without an event loop."""
        if isinstance(self.versions, PostgresDatasetVersions):
            self.versions.abandon()

    def cache_state(self) -> Callable[[], Awaitable[str]] | None:
        """What /health reports as `cache`; None (no key) without REDIS_URL."""
        if self.redis is None:
            return None
        if self.serving.cache is None and self.serving.limiter is None:

            async def off() -> str:
                return "off"

            return off
        return self.redis.state


def database_identity(engine: Engine) -> str:
    """Which database answers come from: a PostgreSQL server and database, or this process
    (an embedded DuckDB is never shared, and its version is this process's own)."""
    if engine.dialect.name == "postgresql":
        url = engine.url
        return f"postgresql://{url.host}:{url.port}/{url.database}"
    return f"embedded/{uuid.uuid4().hex}"


def deployment_fingerprint(
    database: str, cursor_key: bytes, fixture: dict[str, Thresholds] | None
) -> str:
    """What answers depend on besides the data: the database, the code, the key signing
    page cursors (next_cursor is in the answers) and the fixture file's thresholds."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{database}/{analytics.__version__}/{CACHE_FORMAT}".encode())
    digest.update(hashlib.sha256(cursor_key).digest())
    for campaign_id, values in sorted((fixture or {}).items()):
        digest.update(f"\0{campaign_id}\0{values.min_ctr}\0{values.min_roas}".encode())
    return digest.hexdigest()


def quotas(settings: Settings) -> dict[str, Quota]:
    texts = {
        ANONYMOUS: settings.rate_limit_anonymous,
        Role.VIEWER.value: settings.rate_limit_viewer,
        Role.EDITOR.value: settings.rate_limit_editor,
        Role.ADMIN.value: settings.rate_limit_admin,
    }
    return {name: Quota(name, *rate_limit(text)) for name, text in texts.items()}


def build_serving(
    settings: Settings,
    services: Services,
    engine: Engine,
    deployment: str,
    hooks: ServingHooks | None = None,
) -> ServingParts:
    redis = None
    if settings.redis_url is not None:
        redis = RedisLink(settings.redis_url.get_secret_value(), timeout=settings.redis_timeout)
    cache: ResultCache | None = None
    if settings.cache_enabled and versions_readable(engine):
        cache = MemoryResultCache(
            max_entries=settings.cache_max_entries,
            max_bytes=settings.cache_max_bytes,
            ttl=settings.cache_ttl,
        )
        if redis is not None:
            cache = TieredResultCache(cache, RedisResultCache(redis, ttl=settings.cache_ttl))
    versions = None
    if cache is not None:
        versions = _versions(engine, settings.database_request_timeout)
    limiter: RateLimiter | None = None
    if settings.rate_limits_enabled:
        limiter = MemoryRateLimiter()
        if redis is not None:
            limiter = RedisRateLimiter(redis, limiter)
    serving = Serving(
        services=services,
        cache=cache,
        versions=versions,
        deployment=deployment,
        limiter=limiter,
        quotas=quotas(settings),
        hooks=hooks or ServingHooks(),
    )
    return ServingParts(serving, redis, versions)


def _versions(engine: Engine, timeout: float) -> PostgresDatasetVersions | EmbeddedDatasetVersions:
    if engine.dialect.name == "postgresql":
        return PostgresDatasetVersions(engine, timeout=timeout)
    return EmbeddedDatasetVersions(engine)
