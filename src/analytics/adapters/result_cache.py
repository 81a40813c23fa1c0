"""Where cached answers are kept: in this process (a bounded LRU) or in Redis.

An entry's key already names the tenant, the dataset version and the request, so an entry
never changes meaning: nothing is ever invalidated, stale keys are simply never asked again
and age out (LRU bound, TTL as the safety net).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from analytics.adapters.redis_link import RedisLink

_SEPARATOR = b"\n"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A 200 answer as sent: its body, its entity tag and its media type."""

    body: bytes
    etag: bytes
    content_type: bytes

    @property
    def size(self) -> int:
        return len(self.body) + len(self.etag) + len(self.content_type)

    def encoded(self) -> bytes:
        return _SEPARATOR.join((self.etag, self.content_type, self.body))

    @classmethod
    def decoded(cls, data: bytes) -> CachedAnswer | None:
        parts = data.split(_SEPARATOR, 2)
        if len(parts) != 3:
            return None
        etag, content_type, body = parts
        return cls(body=body, etag=etag, content_type=content_type)


class MemoryResultCache:
    """Least recently used entries go first once `max_entries` or `max_bytes` is passed;
    an entry older than `ttl` seconds is never answered. One event loop uses it: no lock."""

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._bytes = 0
        self._entries: OrderedDict[str, tuple[float, CachedAnswer]] = OrderedDict()

    async def get(self, key: str) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def put(self, key: str, answer: CachedAnswer) -> bool:
        """Whether the answer is kept (one larger than the byte bound is not)."""
        if answer.size > self._max_bytes:
            return False
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (time.monotonic() + self._ttl, answer)
        self._bytes += answer.size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: str) -> None:
        _, answer = self._entries.pop(key)
        self._bytes -= answer.size

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_in_bytes(self) -> int:
        return self._bytes


class RedisResultCache:
    """Entries shared by every process, each with the TTL as its expiry. Redis bounds its
    own memory (`maxmemory` with an LRU policy is the operator's part). A failed call is a
    miss, and a failed store is skipped: the database answers instead."""

    def __init__(self, link: RedisLink, *, ttl: float, prefix: str = "analytics:answer:") -> None:
        self._link = link
        self._ttl_ms = max(1, int(ttl * 1000))
        self._prefix = prefix

    async def get(self, key: str) -> CachedAnswer | None:
        data = await self._link.call(lambda client: client.get(self._prefix + key))
        return None if data is None else CachedAnswer.decoded(data)

    async def put(self, key: str, answer: CachedAnswer) -> bool:
        """Whether Redis took the answer."""
        encoded = answer.encoded()
        stored = await self._link.call(
            lambda client: client.set(self._prefix + key, encoded, px=self._ttl_ms)
        )
        return bool(stored)


class TieredResultCache:
    """This process's LRU in front of Redis: a hit here costs no round trip, a hit in Redis
    is kept here too. Sound because an entry's key never changes meaning (it names the
    version): a process's copy can never be older than Redis's. While Redis is down this
    process still answers what it holds; what it makes is not shared until Redis is back."""

    def __init__(self, local: MemoryResultCache, shared: RedisResultCache) -> None:
        self._local = local
        self._shared = shared

    async def get(self, key: str) -> CachedAnswer | None:
        answer = await self._local.get(key)
        if answer is None:
            answer = await self._shared.get(key)
            if answer is not None:
                await self._local.put(key, answer)
        return answer

    async def put(self, key: str, answer: CachedAnswer) -> bool:
        """Whether Redis took it (this process keeps it either way, within its bounds)."""
        await self._local.put(key, answer)
        return await self._shared.put(key, answer)
