"""The per-tenant catalog clock: every catalog write (API or load) takes its tenant's next
timestamp first, under a lock held until the transaction ends.

PostgreSQL: the clock row's lock (`INSERT … ON CONFLICT DO UPDATE … RETURNING`). DuckDB
(one process owns an embedded database): also a process lock per engine, taken before the
transaction begins, because DuckDB's optimistic concurrency would abort the second of two
writers of the clock row instead of making it wait.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import weakref
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

from analytics.adapters.sql_queries import query

_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def tick(connection: Connection, tenant_id: str) -> dt.datetime:
    """The tenant's next catalog timestamp, strictly after every one handed out before."""
    now = dt.datetime.now(dt.UTC)
    stamp = connection.execute(
        query("catalog_clock_tick"), {"tenant_id": tenant_id, "now": now}
    ).scalar_one()
    return stamp.astimezone(dt.UTC)


@contextlib.contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """Held around a whole catalog write transaction on DuckDB; nothing on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        yield
        return
    with _locks_guard:
        lock = _locks.setdefault(engine, threading.Lock())
    with lock:
        yield
