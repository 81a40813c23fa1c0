"""A short-lived cache in front of the key store: one lookup per key every few seconds."""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from dataclasses import replace

from analytics.domain.access import ApiKey
from analytics.domain.ports import KeyStore

KEY_CACHE_SECONDS = 2.0  # a revoked key stops working on every process within this
KEY_CACHE_ENTRIES = 10_000


class CachedKeyStore:
    """Remembers each lookup, found or not, for `ttl` seconds, at most `max_entries` of them
    (the oldest go first). Unknown ids are remembered too, so a flood of made-up keys costs
    one query per id, not one per request."""

    def __init__(
        self, inner: KeyStore, ttl: float = KEY_CACHE_SECONDS, max_entries: int = KEY_CACHE_ENTRIES
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()

    async def find_key(self, *, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        entry = self._entries.get(key_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        key = await self._inner.find_key(key_id=key_id)
        self._remember(key_id, key, now)
        return key

    async def mark_used(self, *, key_id: str, at: dt.datetime) -> None:
        await self._inner.mark_used(key_id=key_id, at=at)
        entry = self._entries.get(key_id)
        if entry is not None and entry[1] is not None:
            self._entries[key_id] = (entry[0], replace(entry[1], last_used_at=at))

    def _remember(self, key_id: str, key: ApiKey | None, now: float) -> None:
        self._entries[key_id] = (now + self._ttl, key)
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
