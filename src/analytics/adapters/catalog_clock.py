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
_generations: weakref.WeakKeyDictionary[Engine, list[int]] = weakref.WeakKeyDictionary()


def tick(connection: Connection, tenant_id: str) -> dt.datetime:
    """The tenant's next catalog timestamp, strictly after every one handed out before."""
    now = dt.datetime.now(dt.UTC)
    stamp = connection.execute(
        query("catalog_clock_tick"), {"tenant_id": tenant_id, "now": now}
    ).scalar_one()
    return stamp.astimezone(dt.UTC)


@contextlib.contextmanager
def writer_lock(engine: Engine) -> Iterator[None]:
    """Held around a whole catalog write transaction on DuckDB; nothing on PostgreSQL.

    On DuckDB it also moves the engine's write generation (`write_generation`): odd while a
    writer holds the lock, even again once it has committed or rolled back."""
    if engine.dialect.name == "postgresql":
        yield
        return
    with _locks_guard:
        lock = _locks.setdefault(engine, threading.Lock())
        generation = _generations.setdefault(engine, [0])
    with lock:
        generation[0] += 1
        try:
            yield
        finally:
            generation[0] += 1


def write_generation(engine: Engine) -> int:
    """How many times DuckDB writers of `engine` took and released the writer lock, twice
    each: odd while one holds it. Every write of an embedded database is made in the process
    that serves it (a DuckDB file is either written by one process or read by several), and
    every write that changes an answer (catalog, thresholds, loads, stored alerts) holds
    this lock until it has committed, so an even generation read before a request and the
    data read after it belong together."""
    generation = _generations.get(engine)
    return 0 if generation is None else generation[0]
