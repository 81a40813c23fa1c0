"""Reading the `.sql` questions' rows (and a builder's cached statements: the explorer's)
inside one tenant-scoped transaction.

On PostgreSQL the statements go straight to the driver's cursor (psycopg, named-tuple rows)
on the pooled connection SQLAlchemy checked out: SQLAlchemy's per-statement work (execution
context, result metadata, `Row` objects) cost ~0.3 ms of CPU per request, about a fifth of
the whole request (BENCHMARKS.md, "Serving at scale: cold path"). Pool, deadlines and
invalidation stay SQLAlchemy's; driver errors are translated into SQLAlchemy's, a lost
connection invalidated as SQLAlchemy would. DuckDB reads through SQLAlchemy as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Dialect, Executable
from sqlalchemy.exc import DBAPIError

from analytics.adapters.sql_queries import query

T = TypeVar("T")


class Reader(Protocol):
    """Rows of a named question (`sql/<name>.sql`), read by attribute (`row.total_spend`)."""

    def rows(self, name: str, parameters: Mapping[str, Any]) -> list[Any]: ...

    def statement_rows(self, statement: Executable, parameters: Mapping[str, Any]) -> list[Any]:
        """Rows of a built statement whose values are all named parameters (no defaults),
        by position; `statement` is kept and compiled once (a builder's cached statement)."""
        ...


class SqlAlchemyReader:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def rows(self, name: str, parameters: Mapping[str, Any]) -> list[Any]:
        return list(self._connection.execute(query(name), parameters))

    def statement_rows(self, statement: Executable, parameters: Mapping[str, Any]) -> list[Any]:
        return list(self._connection.execute(statement, parameters))


class DriverReader:
    """psycopg's cursor on the checked-out connection; statements compiled once each."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def rows(self, name: str, parameters: Mapping[str, Any]) -> list[Any]:
        self._cursor.execute(compiled(name, self._dialect), parameters)
        return self._cursor.fetchall()

    def statement_rows(self, statement: Executable, parameters: Mapping[str, Any]) -> list[Any]:
        """Plain tuples: a named tuple per row cost ~0.6 ms of a 500-row answer."""
        from psycopg.rows import tuple_row

        cursor, named = self._cursor, self._cursor.row_factory
        cursor.row_factory = tuple_row
        try:
            cursor.execute(compiled_statement(statement, self._dialect), parameters)
            return cursor.fetchall()
        finally:
            cursor.row_factory = named


@cache
def compiled(name: str, dialect: Dialect) -> str:
    """The question as the driver takes it (`%(name)s` parameters, `%` escaped)."""
    return str(query(name).compile(dialect=dialect))


@lru_cache(maxsize=512)
def compiled_statement(statement: Executable, dialect: Dialect) -> str:
    """A built statement as the driver takes it (its parameters named, none with a value)."""
    return str(statement.compile(dialect=dialect))


def read_with_driver(
    connection: Connection,
    enter: tuple[str, Mapping[str, Any]],
    work: Callable[[Reader], T],
    stale: Callable[[DBAPIError], Exception],
) -> T:
    """`enter` (the tenant-scoping statement) then `work`, in one transaction ended here with
    a rollback. A lost connection at `enter` raises `stale(error)`: nothing ran yet."""
    from psycopg.rows import namedtuple_row

    dbapi = connection.connection.dbapi_connection
    dialect = connection.dialect
    statement = enter[0]
    try:
        with dbapi.cursor(row_factory=namedtuple_row) as cursor:  # type: ignore[union-attr]
            try:
                cursor.execute(*enter)
            except dialect.loaded_dbapi.Error as error:
                translated = _translated(connection, error, statement)
                if translated.connection_invalidated:
                    raise stale(translated) from error
                raise translated from error
            statement = "(question)"
            result = work(DriverReader(cursor, dialect))
        dbapi.rollback()  # type: ignore[union-attr]
        return result
    except dialect.loaded_dbapi.Error as error:
        raise _translated(connection, error, statement) from error


def _translated(connection: Connection, error: Exception, statement: str) -> DBAPIError:
    """SQLAlchemy's error for a driver error; the connection invalidated when it is lost
    (SQLAlchemy then replaces every older pooled connection), else rolled back."""
    dialect = connection.dialect
    dbapi = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(error, dbapi, None)  # type: ignore[arg-type]
    if lost:
        # as SQLAlchemy does on a disconnect: every older pooled connection goes too
        connection.engine.pool._invalidate(connection.connection, error)
        connection.invalidate(error)
    else:
        try:
            dbapi.rollback()  # type: ignore[union-attr]
        except dialect.loaded_dbapi.Error:
            connection.invalidate(error)
    return DBAPIError.instance(  # type: ignore[return-value]
        statement,
        None,
        error,  # type: ignore[arg-type]
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
