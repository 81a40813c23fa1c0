"""Fixed-window request counters, per caller: in Redis (shared by every process, one
atomic script call per request) or in this process.

A window starts at a caller's first request and lasts `window` seconds; the `limit`+1st
request in it is refused until it ends.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis.asyncio as redis
from redis.exceptions import NoScriptError

from analytics.adapters.redis_link import RedisLink

MAX_COUNTERS = 100_000  # in-process counters kept at most (the oldest windows go first)

# INCR, the expiry set by the request that opens the window, and the time left: one call.
_FIXED_WINDOW = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
_SCRIPT_SHA = hashlib.sha1(_FIXED_WINDOW.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Quota:
    """`limit` requests per `window` seconds, under the policy name `name`."""

    name: str
    limit: int
    window: int


@dataclass(frozen=True, slots=True)
class Usage:
    """The outcome of counting one request."""

    allowed: bool
    remaining: int  # requests left in the window after this one
    reset: int  # whole seconds until the window ends (at least 1)


def _usage(quota: Quota, count: int, milliseconds_left: float) -> Usage:
    return Usage(
        allowed=count <= quota.limit,
        remaining=max(0, quota.limit - count),
        reset=max(1, math.ceil(milliseconds_left / 1000)),
    )


class MemoryRateLimiter:
    """Counters of this process only (no REDIS_URL, or while Redis is down)."""

    def __init__(self, max_counters: int = MAX_COUNTERS) -> None:
        self._max_counters = max_counters
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    async def hit(self, key: str, quota: Quota) -> Usage:
        now = time.monotonic()
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + quota.window, 0
            self._windows.pop(key, None)
        self._windows[key] = (ends, count + 1)
        while len(self._windows) > self._max_counters:
            self._windows.popitem(last=False)
        return _usage(quota, count + 1, (ends - now) * 1000)


class RedisRateLimiter:
    """Counters shared through Redis; in process while Redis does not answer."""

    def __init__(
        self, link: RedisLink, fallback: MemoryRateLimiter, prefix: str = "analytics:rate:"
    ):
        self._link = link
        self._fallback = fallback
        self._prefix = prefix

    async def hit(self, key: str, quota: Quota) -> Usage:
        name = f"{self._prefix}{quota.name}:{quota.limit}/{quota.window}:{key}"
        window_ms = quota.window * 1000

        async def count(client: redis.Redis) -> list[int]:
            try:
                return await client.evalsha(_SCRIPT_SHA, 1, name, window_ms)
            except NoScriptError:  # a restarted Redis: sent once more, whole
                return await client.eval(_FIXED_WINDOW, 1, name, window_ms)

        answer = await self._link.call(count)
        if answer is None:
            return await self._fallback.hit(key, quota)
        count, milliseconds_left = answer
        return _usage(quota, int(count), float(milliseconds_left))
