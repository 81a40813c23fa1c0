"""The serving middleware's hit path with rate limits on: the tenant's version read and the
request's count are made at once (two round trips in Redis and PostgreSQL), and a refused
request leaves no version read behind."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from analytics.adapters.rate_limits import Quota, Usage
from analytics.adapters.result_cache import CachedAnswer
from analytics.api.serving import ANONYMOUS, Serving, ServingMiddleware

PATH = "/campaigns/c1/performance"
STORED = CachedAnswer(body=b'{"campaign_id":"c1"}', etag=b'"e1"', content_type=b"application/json")


class SlowVersions:
    """A version read that takes a while; records when reads start and how they end."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def version(self, tenant_id: str) -> str:
        self.started.set()
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return f"{tenant_id}:v1"


class LimiterWaitingForTheVersionRead:
    """Counts a request only once the version read has begun: a middleware that reads the
    version after the count never gets an answer from it (the test times out)."""

    def __init__(self, versions: SlowVersions, *, allowed: bool) -> None:
        self.versions = versions
        self.allowed = allowed

    async def hit(self, key: str, quota: Quota) -> Usage:
        await asyncio.wait_for(self.versions.started.wait(), timeout=1.0)
        return Usage(allowed=self.allowed, remaining=0, reset=30)


class StoredEverything:
    async def get(self, key: str) -> CachedAnswer | None:
        return STORED

    async def put(self, key: str, answer: CachedAnswer) -> None:
        raise AssertionError("a hit stores nothing")


async def _app_must_not_run(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("a hit or a 429 never reaches the app")


def _middleware(versions: SlowVersions, *, allowed: bool) -> ServingMiddleware:
    services = SimpleNamespace(keys=None, anonymous_tenant="t1")
    serving = Serving(
        services=services,  # type: ignore[arg-type]  # anonymous callers use no key store
        cache=StoredEverything(),
        versions=versions,
        deployment="d",
        limiter=LimiterWaitingForTheVersionRead(versions, allowed=allowed),
        quotas={ANONYMOUS: Quota(ANONYMOUS, 10, 60)},
    )
    return ServingMiddleware(_app_must_not_run, serving)


async def _get(middleware: ServingMiddleware) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": PATH,
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(middleware(scope, receive, send), timeout=2.0)
    return sent


async def test_a_hit_reads_the_version_while_the_request_is_counted() -> None:
    versions = SlowVersions()
    sent = await _get(_middleware(versions, allowed=True))
    assert sent[0]["status"] == 200
    assert (b"cache-status", b"analytics; hit") in sent[0]["headers"]
    assert sent[1]["body"] == STORED.body
    assert versions.finished == 1


async def test_a_refused_request_cancels_its_version_read_and_answers_429() -> None:
    versions = SlowVersions()
    sent = await _get(_middleware(versions, allowed=False))
    assert sent[0]["status"] == 429
    assert (b"retry-after", b"30") in sent[0]["headers"]
    await asyncio.sleep(0.1)  # the read would have finished by now
    assert (versions.cancelled, versions.finished) == (1, 0)
