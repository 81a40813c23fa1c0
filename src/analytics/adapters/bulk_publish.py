"""The bulk path of a PostgreSQL load (DECISIONS.md, "The loader's bulk path").

`bulk_facts` checks the metrics file with DuckDB and writes its fact rows as CSV (or yields
None: the Python path then runs from the start, nothing having been written). `copy_facts`
streams that file into PostgreSQL's COPY while DuckDB, on the other core, sums the same
rows into three rollups, which are copied next. Both happen before any publish step that
reads them; a rollup that DuckDB could not write is left to the publish's SQL.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import Connection, Table

from analytics.adapters import postgres_publish, schema
from analytics.adapters.bulk_files import ROLLUPS, BulkMismatch, write_facts, write_rollups
from analytics.adapters.bulk_metrics import ValueKeys, accepted, plain_layout, survey
from analytics.adapters.load_phases import reason

log = logging.getLogger(__name__)

# DuckDB's share of the loader's memory (the loader stays under 300 MB of RSS at 20M rows):
# its buffer pool, and threads per step. The survey took 60-96 MB with two threads (refused at
# 80 MB, at 4M rows; its reading, not its distinct values), half that with one; the rollups
# spill to disk. At 20M rows (4.4M campaign x creator groups) a 64 MB pool ran out of memory
# (the rollups then built in SQL: 50 s), 96 MB wrote them in 33 s beside the fact COPY with a
# peak RSS of 292 MB, 128 MB in as long with 327 MB (BENCHMARKS.md).
DUCKDB_MEMORY_LIMIT = "96MB"
ROLLUPS_MEMORY_LIMIT = "96MB"  # while PostgreSQL copies, in a thread of this process
SURVEY_THREADS, WRITE_THREADS, ROLLUP_THREADS = 1, 2, 1  # 2 cores; PostgreSQL has one
ENABLED = True  # False: every load takes the Python path (as before the bulk path)


class Declined(Exception):
    """The bulk path does not take this file (why, in one line); nothing was written."""


@dataclass(frozen=True, slots=True)
class BulkFacts:
    """A metrics file the bulk path accepted: its fact rows in `facts`, ready for COPY."""

    rows: int
    dates: list[str]
    keys: ValueKeys
    facts: Path
    duckdb: duckdb.DuckDBPyConnection
    scratch: Path
    seconds: dict[str, float]  # of each step, for the log line


def _timed(seconds: dict[str, float], step: str, started: float) -> None:
    seconds[step] = time.perf_counter() - started


def _prepared(
    connection: duckdb.DuckDBPyConnection,
    metrics: Path,
    ids: tuple[Iterable[str], Iterable[str]],
    tenant_id: str,
    scratch: Path,
) -> BulkFacts:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    layout = plain_layout(metrics)
    if layout is None:
        raise Declined("the metrics file needs the Python reader (quotes, CR, NUL, header)")
    found = survey(connection, metrics, layout)
    if not accepted(found, *ids):
        raise Declined("a row needs the Python validator (for its errors or its exceptions)")
    _timed(seconds, "checked", started)
    connection.execute(f"SET threads = {WRITE_THREADS}")
    started, keys, facts = time.perf_counter(), ValueKeys(found.breakdowns), scratch / "facts.csv"
    write_facts(connection, metrics, layout, keys, tenant_id=tenant_id, out=facts, rows=found.rows)
    _timed(seconds, "fact file", started)
    return BulkFacts(found.rows, found.dates, keys, facts, connection, scratch, seconds)


SCRATCH_PREFIX = "analytics-bulk-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_scratch(directory: Path) -> None:
    """Remove the scratch directories of bulk loads whose process is gone (a killed load
    cannot remove its own: at 20M rows, 1.5 GB of CSV)."""
    for path in directory.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = path.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def bulk_facts(
    metrics: Path,
    campaigns: Iterable[str],
    creators: Iterable[str],
    *,
    tenant_id: str,
    declined: Callable[[str], None],
) -> Iterator[BulkFacts | None]:
    """The bulk path's fact rows of `metrics`, or None when it declines (a file it does not
    read plainly, a row the Python path might refuse or read otherwise, any error before
    anything is written), having told `declined` why."""
    remove_stale_scratch(Path(tempfile.gettempdir()))
    prefix = f"{SCRATCH_PREFIX}{os.getpid()}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        scratch = Path(directory)
        config = {
            "threads": SURVEY_THREADS,
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(scratch / "spill"),
            # Rows in any order: keeping the file's order made the parallel CSV writer
            # buffer 64 MB at 400k rows (the order of fact rows changes no answer).
            "preserve_insertion_order": False,
        }
        connection = duckdb.connect(config=config)
        try:
            try:
                bulk = _prepared(connection, metrics, (campaigns, creators), tenant_id, scratch)
            except Declined as error:
                declined(str(error))
                bulk = None
            except Exception as error:  # any other: nothing is written yet, the Python path
                log.warning("bulk path failed before writing: %s", reason(error))
                declined(reason(error))
                bulk = None
            yield bulk
        finally:
            connection.close()


def _text_columns(table: Table) -> list[str]:
    return [column.name for column in table.columns if column.type.python_type is str]


def _copy(connection: Connection, table: Table, target: str, path: Path) -> int:
    columns = [column.name for column in table.columns]
    return postgres_publish.copy_file(connection, target, columns, _text_columns(table), path)


def _copy_timed(connection: Connection, bulk: BulkFacts, target: str) -> int:
    started = time.perf_counter()
    copied = _copy(connection, schema.campaign_daily_metrics, target, bulk.facts)
    _timed(bulk.seconds, "fact COPY", started)
    return copied


def _rollup_files(bulk: BulkFacts, tenant_id: str) -> dict[str, Path] | None:
    started = time.perf_counter()
    try:
        bulk.duckdb.execute(f"SET threads = {ROLLUP_THREADS}")
        bulk.duckdb.execute(f"SET memory_limit = '{ROLLUPS_MEMORY_LIMIT}'")
        written = write_rollups(bulk.duckdb, bulk.facts, tenant_id=tenant_id, out_dir=bulk.scratch)
        _timed(bulk.seconds, "rollups in DuckDB", started)
        return written
    except (duckdb.Error, OSError) as error:
        log.warning("bulk rollups not written, built in SQL: %s", reason(error))
        return None


def copy_facts(
    connection: Connection, bulk: BulkFacts, tenant_id: str, named: Callable[[Table], Table]
) -> bool:
    """COPY the fact rows into `named(campaign_daily_metrics)`, meanwhile write the rollups;
    then COPY them into their `named` tables. False: the rollups are still to be built."""
    facts = schema.campaign_daily_metrics
    with ThreadPoolExecutor(max_workers=1) as pool:
        copying = pool.submit(_copy_timed, connection, bulk, named(facts).name)
        rollups = _rollup_files(bulk, tenant_id)
        copied = copying.result()
    if copied != bulk.rows:
        raise BulkMismatch(f"PostgreSQL copied {copied} fact rows of {bulk.rows}")
    if rollups is not None:
        started = time.perf_counter()
        tables = {table.name: table for table in schema.metadata.tables.values()}
        for name in ROLLUPS:
            _copy(connection, tables[name], named(tables[name]).name, rollups[name])
        _timed(bulk.seconds, "rollup COPY", started)
    steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in bulk.seconds.items())
    log.info("bulk path: %s rows; %s", f"{bulk.rows:,}", steps)
    return rollups is not None
