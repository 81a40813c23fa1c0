"""Database pool use as two gauges: connections checked out, and the pool's size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from analytics.telemetry.metrics import instruments


def watch_pool(engine: Engine) -> None:
    """Keep `analytics_db_pool_checked_out` and `analytics_db_pool_size` up to date for
    `engine`'s pool: a gauge step on each checkout and check-in."""
    metrics = instruments()
    size = getattr(engine.pool, "size", None)
    if callable(size):
        metrics.pool_size.inc(size())
        event.listen(engine, "engine_disposed", lambda _: metrics.pool_size.dec(size()))

    def checked_out(*_: Any) -> None:
        metrics.pool_checked_out.inc()

    def checked_in(*_: Any) -> None:
        metrics.pool_checked_out.dec()

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)
