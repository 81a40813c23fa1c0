"""Publishing a dataset into PostgreSQL: bulk copy into fresh tables, then swap them in.

Measured on 1M rows (see DECISIONS.md): COPY into the indexed, foreign-keyed live table took
15.8 s; COPY into a bare table 1.2 s, then building its indexes 1.5 s and validating its
foreign keys in bulk 0.3 s. So every load builds `<table>__next` tables, copies into them,
adds the keys, indexes and foreign keys the live tables have (read from the catalog, so the
migrations stay the one definition of the schema), analyses them, and swaps them in by
rename. All of it is one transaction: readers see the previous tables until the commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from sqlalchemy import Connection, text

from analytics.adapters.load_phases import INDEXES, SWAPPING

NEXT = "__next"
BATCH_ROWS = 10_000
_INDEX_DEFINITION = re.compile(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ (USING .+)")

_CONSTRAINTS = text(
    """
    SELECT c.conrelid::regclass::text AS table_name, c.conname AS name, c.contype AS kind,
           pg_get_constraintdef(c.oid) AS definition, c.confrelid::regclass::text AS referenced
    FROM pg_constraint AS c
    WHERE c.conrelid = CAST(:table AS regclass) AND c.contype IN ('p', 'u', 'f')
    ORDER BY c.contype DESC, c.conname
    """
)
_INDEXES = text(
    """
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index AS i
    WHERE i.indrelid = CAST(:table AS regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
    ORDER BY 1
    """
)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_lines(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    text_columns: Sequence[str],
    lines: Iterable[str],
) -> int:
    """COPY CSV lines on the transaction's psycopg connection, in batches; returns the count.

    An unquoted empty field is NULL, except in `text_columns` (empty text stays text)."""
    driver = connection.connection.driver_connection
    column_list = ", ".join(map(_quoted, columns))
    # FREEZE: the table was created in this transaction, so rows are written frozen and
    # all-visible, and index-only scans need no VACUUM after the publish.
    options = f"FORMAT csv, FREEZE, FORCE_NOT_NULL ({', '.join(map(_quoted, text_columns))})"
    statement = f"COPY {_quoted(table)} ({column_list}) FROM STDIN ({options})"
    iterator = iter(lines)
    count = 0
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        while batch := list(islice(iterator, BATCH_ROWS)):
            copy.write("".join(batch))
            count += len(batch)
    return count


def create_next_tables(connection: Connection, tables: Sequence[str]) -> None:
    """Empty copies of the live tables: columns, defaults, NOT NULL and CHECK constraints."""
    for table in tables:
        connection.execute(text(f"DROP TABLE IF EXISTS {_quoted(table + NEXT)}"))
        connection.execute(
            text(
                f"CREATE TABLE {_quoted(table + NEXT)} (LIKE {_quoted(table)} "
                "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
            )
        )


def _constraint_ddl(row: object, tables: Sequence[str]) -> str:
    definition = row.definition
    if row.kind == "f" and row.referenced in tables:
        definition = definition.replace(
            f"REFERENCES {row.referenced}(", f"REFERENCES {_quoted(row.referenced + NEXT)}("
        )
    return (
        f"ALTER TABLE {_quoted(row.table_name + NEXT)} "
        f"ADD CONSTRAINT {_quoted(row.name + NEXT)} {definition}"
    )


def _index_ddl(table: str, name: str, definition: str) -> str:
    match = _INDEX_DEFINITION.fullmatch(definition)
    if match is None:  # pragma: no cover - pg_get_indexdef always has this shape
        raise ValueError(f"unexpected index definition: {definition}")
    unique, rest = match.group(1) or "", match.group(2)
    return f"CREATE {unique}INDEX {_quoted(name + NEXT)} ON {_quoted(table + NEXT)} {rest}"


def _no_phase(name: str) -> None:
    pass


def swap_in_next_tables(
    connection: Connection, tables: Sequence[str], *, phase: Callable[[str], None] = _no_phase
) -> None:
    """Add the live tables' keys, indexes and foreign keys to the `__next` tables (validated
    in bulk), analyse them, then drop the live tables and rename the new ones into place.

    `phase` is told when each of the two phases starts (load_phases.INDEXES, SWAPPING)."""
    constraints = {
        table: connection.execute(_CONSTRAINTS, {"table": table}).all() for table in tables
    }
    indexes = {table: connection.execute(_INDEXES, {"table": table}).all() for table in tables}
    phase(INDEXES)
    for table in tables:  # keys first (dimensions come first), then foreign keys
        for row in constraints[table]:
            connection.execute(text(_constraint_ddl(row, tables)))
        for name, definition in indexes[table]:
            connection.execute(text(_index_ddl(table, name, definition)))
        connection.execute(text(f"ANALYZE {_quoted(table + NEXT)}"))
    phase(SWAPPING)
    connection.execute(text(f"DROP TABLE {', '.join(map(_quoted, tables))}"))
    for table in tables:
        connection.execute(text(f"ALTER TABLE {_quoted(table + NEXT)} RENAME TO {_quoted(table)}"))
        for row in constraints[table]:
            connection.execute(
                text(
                    f"ALTER TABLE {_quoted(table)} RENAME CONSTRAINT "
                    f"{_quoted(row.name + NEXT)} TO {_quoted(row.name)}"
                )
            )
        for name, _ in indexes[table]:
            connection.execute(
                text(f"ALTER INDEX {_quoted(name + NEXT)} RENAME TO {_quoted(name)}")
            )
