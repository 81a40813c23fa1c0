"""The process's link to Redis (REDIS_URL): every call bounded by a small timeout, and a
breaker so that a Redis that is down costs one failed call per second, not one per request.

Nothing here raises: a failed call answers None and the callers fall back (the result cache
is bypassed, rate limits are counted in process). The link recovers on its own: the first
call after the pause tries Redis again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from analytics.adapters.loop_local import LoopLocal

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER_SECONDS = 1.0  # after a failure, Redis is left alone this long


class RedisLink:
    def __init__(self, url: str, *, timeout: float, retry_after: float = RETRY_AFTER_SECONDS):
        self._timeout = timeout
        self._retry_after = retry_after
        self._down_until = 0.0
        # A blocking pool: past 64 calls in flight, a call waits (within the timeout) for a
        # connection instead of failing at once, which would pause Redis for everyone.
        self._clients = LoopLocal(
            lambda: redis.Redis(
                connection_pool=redis.BlockingConnectionPool.from_url(
                    url,
                    max_connections=64,
                    timeout=timeout,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 0),  # no retries: the caller falls back instead
                )
            )
        )

    @property
    def is_up(self) -> bool:
        """False from a failed call until the pause after it has passed."""
        return time.monotonic() >= self._down_until

    def client(self) -> redis.Redis:
        return self._clients.get()

    async def call(self, work: Callable[[redis.Redis], Awaitable[T]]) -> T | None:
        """`work(client)` within the timeout; None when Redis is paused or the call fails."""
        if not self.is_up:
            return None
        try:
            async with asyncio.timeout(self._timeout):
                return await work(self._clients.get())
        except (RedisError, OSError, TimeoutError) as error:
            if self.is_up:
                log.warning(
                    "redis unavailable, falling back for %.1f s: %r", self._retry_after, error
                )
            self._down_until = time.monotonic() + self._retry_after
            return None

    async def state(self) -> str:
        """`ok` when Redis answers a PING now, else `error` (for /health)."""
        self._down_until = 0.0  # /health always asks Redis itself
        answered = await self.call(lambda client: client.ping())
        return "ok" if answered else "error"

    async def close(self) -> None:
        client = self._clients.current()
        if client is not None:
            with contextlib.suppress(RedisError, OSError, RuntimeError):
                await client.aclose(close_connection_pool=True)
