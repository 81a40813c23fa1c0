"""PostgreSQL dataset versions at the cost of one round trip, shared by concurrent requests.

The version statement (sql/cache_version.sql) runs on a connection of its own, in
autocommit, from the event loop (no worker thread, no transaction around it). Requests of one
tenant that arrive while a read is in flight wait for the next read, which starts after they
arrived, and share it: each still sees every commit that happened before it arrived, and a
busy process reads each tenant's version once per round trip, not once per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import weakref
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy import Engine

from analytics.adapters.resources import shipped_directory
from analytics.domain.errors import RepositoryUnavailable

log = logging.getLogger(__name__)


def _statement() -> str:
    sql = (shipped_directory("sql") / "cache_version.sql").read_text(encoding="utf-8")
    return sql.replace(":tenant_id", "%(tenant_id)s")


class _Rounds:
    """Single-flight reads whose every waiter arrived before the read started."""

    def __init__(self, read: Callable[[], Awaitable[str]]) -> None:
        self._read = read
        self._pending: asyncio.Future[str] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def next(self) -> str:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            self._pending.add_done_callback(lambda done: done.cancelled() or done.exception())
            if self._runner is None:
                self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(self._pending)

    async def _run(self) -> None:
        try:
            while self._pending is not None:
                round_, self._pending = self._pending, None
                try:
                    round_.set_result(await self._read())
                except Exception as error:  # every waiter of the round gets it
                    round_.set_exception(error)
        finally:
            self._runner = None


class _Link:
    """One autocommit connection of this event loop, made again after any failure."""

    def __init__(self, conninfo: str, timeout: float) -> None:
        self._conninfo = conninfo
        self._timeout = timeout
        self._statement = _statement()
        self._connection: psycopg.AsyncConnection | None = None
        self._rounds: dict[str, _Rounds] = {}

    def rounds(self, tenant_id: str) -> _Rounds:
        rounds = self._rounds.get(tenant_id)
        if rounds is None:
            rounds = self._rounds[tenant_id] = _Rounds(lambda: self._read(tenant_id))
        return rounds

    async def _read(self, tenant_id: str) -> str:
        """One read. Never cancelled (psycopg would then try to cancel the query on the
        server, waiting seconds on a frozen network): at the deadline the connection's socket
        is shut instead, which fails the read at once. A kept connection found dead (the
        server restarted, or ended it) is replaced once, within the same deadline."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        while True:
            reused = self._connection is not None and not self._connection.closed
            timed_out = False
            try:
                if not reused:
                    self._connection = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True, connect_timeout=max(2, int(self._timeout))
                    )
                connection = self._connection
                assert connection is not None
                read = asyncio.ensure_future(self._row(connection, tenant_id))
                remaining = max(0.0, deadline - asyncio.get_running_loop().time())
                done, _ = await asyncio.wait({read}, timeout=remaining)
                if not done:
                    timed_out = True
                    _shut(connection)
                load_id, written_at = await read
            except (psycopg.Error, OSError) as error:
                self._discard()
                if reused and not timed_out and asyncio.get_running_loop().time() < deadline:
                    log.warning("the dataset version connection was dead; reading on a new one")
                    continue
                log.error("dataset version not read: %r", error)
                raise RepositoryUnavailable("the dataset version could not be read") from error
            written = "-" if written_at is None else written_at.isoformat()
            return f"{load_id or 0}/{written}"

    async def _row(self, connection: psycopg.AsyncConnection, tenant_id: str) -> tuple:
        cursor = await connection.execute(self._statement, {"tenant_id": tenant_id}, prepare=True)
        row = await cursor.fetchone()
        assert row is not None  # the statement always answers one row
        return row

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            task = asyncio.get_running_loop().create_task(_close(connection))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def close(self) -> None:
        if self._connection is not None:
            await _close(self._connection)

    def abandon(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            with contextlib.suppress(psycopg.Error, OSError):
                connection.pgconn.finish()


def _shut(connection: psycopg.AsyncConnection) -> None:
    """Shut the connection's socket (a duplicate of it: the connection keeps its own)."""
    with contextlib.suppress(OSError, psycopg.Error):
        duplicate = socket.socket(fileno=os.dup(connection.pgconn.socket))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


async def _close(connection: psycopg.AsyncConnection) -> None:
    with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
        async with asyncio.timeout(1.0):
            await connection.close()


class PostgresDatasetVersions:
    """One link (connection and rounds) per event loop. A served app has one loop; a harness
    without the lifespan runs each request in a loop of its own, several at once from
    several threads: the links of loops that have closed are closed when the next is made."""

    def __init__(self, engine: Engine, *, timeout: float) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._timeout = timeout
        self._links: dict[int, tuple[weakref.ref[asyncio.AbstractEventLoop], _Link]] = {}
        self._guard = threading.Lock()

    def _link(self) -> _Link:
        loop = asyncio.get_running_loop()
        with self._guard:
            entry = self._links.get(id(loop))
            if entry is not None and entry[0]() is loop:
                return entry[1]
            self._sweep(everything=False)
            link = _Link(self._conninfo, self._timeout)
            self._links[id(loop)] = (weakref.ref(loop), link)
            return link

    def _sweep(self, *, everything: bool) -> None:
        for key, (loop_ref, link) in list(self._links.items()):
            loop = loop_ref()
            if everything or loop is None or loop.is_closed():
                link.abandon()
                del self._links[key]

    async def version(self, tenant_id: str) -> str | None:
        """The version, or `RepositoryUnavailable` at the request deadline counted from this
        call (a request that waits for the round after a stuck one waits no longer)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._link().rounds(tenant_id).next()
        except TimeoutError:
            raise RepositoryUnavailable("the dataset version could not be read") from None

    async def close(self) -> None:
        """Close this loop's connection (the lifespan's end)."""
        loop = asyncio.get_running_loop()
        entry = self._links.get(id(loop))
        if entry is not None and entry[0]() is loop:
            await entry[1].close()

    def abandon(self) -> None:
        """Close every connection now, from outside any event loop (libpq's own close):
        for an app that is being released, whose loops no longer run."""
        with self._guard:
            self._sweep(everything=True)
