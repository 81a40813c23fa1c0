"""Dataset-version reads per cache hit: PostgreSQL transactions on the served database and
CPU of every `postgres` process, per answer, over one wrk run at 1 and 2 workers.

    python bench/version_reads.py DATA_DIR --pg-url URL [--duration 6] [--endpoint performance]

Counts every transaction of the database (pg_stat_database), so run it when nothing else
uses that database; the postgres CPU includes every other database's work on the server.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import psutil
import psycopg

import api
import benchlib as lib
import warm

TRANSACTIONS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s"


def transactions(libpq_url: str) -> int:
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        database = connection.info.dbname
        return connection.execute(TRANSACTIONS, (database,)).fetchone()[0]


def postgres_cpu_seconds() -> float:
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def main() -> None:
    argv = sys.argv[1:]
    endpoint = "performance"
    if "--endpoint" in argv:
        at = argv.index("--endpoint")
        endpoint = argv[at + 1]
        del argv[at : at + 2]
    args = warm.parse_args(argv)
    lib.LOG_DIR = args.out_dir / "logs"
    libpq = re.sub(r"^postgresql\+\w+://", "postgresql://", args.pg_url)
    template = api.ENDPOINTS[endpoint][0]
    with tempfile.TemporaryDirectory(prefix="bench-reads-") as scratch:
        for workers in args.workers:
            ctx = warm.context(args, args.data_dir.resolve(), Path(scratch), args.connections)
            ctx.args.workers = workers
            with api.service(ctx, f"reads-w{workers}", args.pg_url) as server:
                warm.prefill(ctx, server, template)
                before, cpu = transactions(libpq), postgres_cpu_seconds()
                run = api.wrk(ctx, server.base_url, template, args.connections, args.duration)
                time.sleep(0.7)  # the statistics reach pg_stat_database within 0.5 s
                reads = transactions(libpq) - before
                cpu = postgres_cpu_seconds() - cpu
            answers = run["requests"]
            print(
                f"{endpoint}, {workers} worker(s): {run['rps']:,.0f} req/s, {reads} transactions"
                f" for {answers} answers = {reads / answers:.3f} per answer; postgres CPU"
                f" {cpu / answers * 1000:.3f} ms per answer"
            )


if __name__ == "__main__":
    main()
