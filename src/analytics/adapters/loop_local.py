"""Values bound to the running event loop, made on first use in each loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    """One value per event loop: a served app has one loop, so one value for its lifetime.

    Loop-bound objects (an `httpx.AsyncClient`'s pooled connections, an anyio limiter) must
    not cross loops. A harness that drives the app without its lifespan (`TestClient(app)`
    outside `with`) runs each request in a new loop, and gets a new value in each.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._value: T | None = None

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._value is None or self._loop is None or self._loop() is not loop:
            self._value = self._factory()
            self._loop = weakref.ref(loop)
        return self._value

    def current(self) -> T | None:
        """The value made for the latest loop, if any; None before first use."""
        return self._value
