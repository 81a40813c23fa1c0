"""Deadlines that free a worker thread blocked on a PostgreSQL connection that went silent.

A frozen network or a stalled failover keeps TCP connections open and still ACKed, so
neither libpq nor the kernel ever gives up on a read. The repository answers at its deadline
without the thread (see `SqlAlchemyMetricsRepository._run`); then `Watch.expire()` shuts
the socket of the connection that thread holds, so its blocked call fails at once, the
connection is invalidated instead of going back to the pool, and thread and pool slot are
free again.

`install(engine)` makes the engine's checkout tell the thread's current `Watch` which
connection it got, *before* pinging it: the ping, replacing pool pre-ping, is watched too.
A watch made with `verifies_connection=True` skips that ping: its caller's first statement
finds a dead connection instead, and the caller runs its work again on a new one (the
repository does: `sql_repository.first_statement`), which saves a round trip per request.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import InvalidatePoolError

FRESH = "analytics_fresh"  # connection-record flag: connected, never pinged
_current = threading.local()


class DeadlinePassed(Exception):
    """The database call's deadline passed: its answer is no longer awaited."""


class Watch:
    """One database call's deadline, shared by the event loop and the worker thread."""

    __slots__ = ("_lock", "_socket", "expired", "verifies_connection")

    def __init__(self, *, verifies_connection: bool = False) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None  # a duplicate of the connection's socket
        self.expired = False
        self.verifies_connection = verifies_connection  # no ping at checkout

    def attach(self, fileno: int) -> None:
        """Watch the connection just checked out, through a duplicate of its descriptor: the
        socket `expire` shuts is that connection's even if it closed its own meanwhile."""
        with self._lock:
            if self.expired:
                raise DeadlinePassed("the deadline passed before the connection was had")
            self._close_socket()
            self._socket = socket.socket(fileno=os.dup(fileno))

    def expire(self) -> None:
        """The deadline passed: unblock the thread by shutting the connection's socket."""
        with self._lock:
            self.expired = True
            if self._socket is not None:
                with suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)

    def release(self) -> bool:
        """Stop watching, before the connection goes back to the pool; True if expired."""
        with self._lock:
            self._close_socket()
            return self.expired

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


@contextmanager
def watching(watch: Watch) -> Iterator[None]:
    """Connections this thread checks out inside the block are attached to `watch`."""
    _current.watch = watch
    try:
        yield
    finally:
        _current.watch = None


def current_watch() -> Watch | None:
    return getattr(_current, "watch", None)


def install(engine: Engine) -> None:
    """Watched checkout with a ping (instead of `pool_pre_ping`), no new connection once the
    deadline passed. Threads without a watch (loader, migrations) get the plain ping; a
    watch that verifies the connection itself gets none."""
    dialect = engine.dialect

    @event.listens_for(engine, "do_connect")
    def _refuse_when_expired(*_: Any) -> None:
        if (watch := current_watch()) is not None and watch.expired:
            raise DeadlinePassed("the deadline passed before connecting")

    def attach(dbapi_connection: Any) -> Watch | None:
        if (watch := current_watch()) is not None:
            try:
                fileno = dbapi_connection.fileno()
            except dialect.loaded_dbapi.Error as error:  # closed under the pool's feet
                raise InvalidatePoolError() from error
            watch.attach(fileno)
        return watch

    @event.listens_for(engine, "first_connect", insert=True)
    def _watch_initialization(dbapi_connection: Any, _: Any) -> None:
        attach(dbapi_connection)  # the dialect queries the new server

    @event.listens_for(engine, "connect")
    def _mark_fresh(_: Any, record: Any) -> None:
        record.info[FRESH] = True

    @event.listens_for(engine, "checkout")
    def _attach_and_ping(dbapi_connection: Any, record: Any, _: Any) -> None:
        watch = attach(dbapi_connection)
        if record.info.pop(FRESH, False) or (watch is not None and watch.verifies_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if watch is not None and watch.expired:
                raise DeadlinePassed("the deadline passed during the ping") from error
            if dialect.is_disconnect(error, dbapi_connection, None):
                # as pre-ping does: reconnect, and replace every older pooled connection
                raise InvalidatePoolError() from error
            raise
