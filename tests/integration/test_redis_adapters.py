"""The Redis adapters against the real server (a database of the tests' own): entries,
atomic counters shared by concurrent callers, a flushed script cache, and a Redis that does
not answer (fallbacks, the pause, recovery)."""

from __future__ import annotations

import asyncio

import redis
from fastapi.testclient import TestClient

from analytics.adapters.rate_limits import MemoryRateLimiter, Quota, RedisRateLimiter
from analytics.adapters.redis_link import RedisLink
from analytics.adapters.result_cache import (
    CachedAnswer,
    MemoryResultCache,
    RedisResultCache,
    TieredResultCache,
)
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.integration.served_process import free_port
from tests.support import VISIBLE_DATA

ANSWER = CachedAnswer(body=b'{"a":\n1}', etag=b'"t"', content_type=b"application/json")


def _memory() -> MemoryResultCache:
    return MemoryResultCache(max_entries=10, max_bytes=10_000, ttl=60)


async def test_entries_round_trip_and_expire_in_redis(redis_url: str) -> None:
    link = RedisLink(redis_url, timeout=1.0)
    cache = RedisResultCache(link, ttl=0.3)
    assert await cache.put("acme:k", ANSWER) is True
    assert await cache.get("acme:k") == ANSWER
    assert await cache.get("globex:k") is None
    await asyncio.sleep(0.5)
    assert await cache.get("acme:k") is None
    await link.close()


async def test_concurrent_hits_from_many_clients_are_counted_exactly_once_each(
    redis_url: str,
) -> None:
    links = [RedisLink(redis_url, timeout=2.0) for _ in range(4)]  # four "processes"
    limiters = [RedisRateLimiter(link, MemoryRateLimiter()) for link in links]
    quota = Quota("viewer", 30, 60)
    usages = await asyncio.gather(*(limiters[n % 4].hit("key:k", quota) for n in range(40)))
    assert sorted(u.remaining for u in usages) == [0] * 11 + list(range(1, 30))
    assert sum(u.allowed for u in usages) == 30
    assert all(1 <= u.reset <= 60 for u in usages)
    for link in links:
        await link.close()


async def test_a_flushed_script_cache_is_sent_again(redis_url: str) -> None:
    link = RedisLink(redis_url, timeout=1.0)
    limiter = RedisRateLimiter(link, MemoryRateLimiter())
    quota = Quota("editor", 5, 60)
    assert (await limiter.hit("key:s", quota)).remaining == 4
    redis.Redis.from_url(redis_url).script_flush()
    assert (await limiter.hit("key:s", quota)).remaining == 3
    await link.close()


async def test_a_redis_that_does_not_answer_falls_back_pauses_and_is_tried_again() -> None:
    link = RedisLink(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, retry_after=0.3)
    limiter = RedisRateLimiter(link, MemoryRateLimiter())
    tiered = TieredResultCache(_memory(), RedisResultCache(link, ttl=60))
    quota = Quota("viewer", 2, 60)
    assert (await limiter.hit("key:d", quota)).remaining == 1  # in process
    assert not link.is_up  # paused: the next calls do not even try
    assert [(await limiter.hit("key:d", quota)).allowed for _ in range(2)] == [True, False]
    assert await tiered.put("acme:k", ANSWER) is False  # not shared...
    assert await tiered.get("acme:k") == ANSWER  # ...but kept by this process
    assert await link.state() == "error"
    await asyncio.sleep(0.35)
    assert link.is_up  # tried again after the pause
    await link.close()


async def test_the_tiered_cache_shares_through_redis_and_keeps_copies(redis_url: str) -> None:
    link = RedisLink(redis_url, timeout=1.0)
    one = TieredResultCache(_memory(), RedisResultCache(link, ttl=60))
    other_local = _memory()
    other = TieredResultCache(other_local, RedisResultCache(link, ttl=60))
    assert await one.put("acme:k", ANSWER) is True
    assert await other.get("acme:k") == ANSWER  # from Redis
    assert await other_local.get("acme:k") == ANSWER  # and now held by the other process
    assert await link.state() == "ok"
    await link.close()


def test_health_names_the_cache_only_when_redis_is_configured(redis_url: str) -> None:
    def health(**settings: object) -> dict:
        app = create_app(Settings(data_dir=VISIBLE_DATA, **settings))  # type: ignore[arg-type]
        with TestClient(app) as client:
            return client.get("/health").json()

    assert "cache" not in health()
    assert health(redis_url=redis_url)["cache"] == "ok"
    off = {"cache_enabled": False, "rate_limits_enabled": False}
    assert health(redis_url=redis_url, **off)["cache"] == "off"
    dead = f"redis://127.0.0.1:{free_port()}/0"
    answer = health(redis_url=dead, benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json")
    assert answer["cache"] == "error"
    assert answer["status"] == "ok"
