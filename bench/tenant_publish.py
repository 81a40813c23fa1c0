"""Per-tenant publish on PostgreSQL: one tenant's load (partition swap) timed phase by phase,
while a reader of another tenant records every latency; and the rejected alternative,
delete-and-insert in one transaction.

    python bench/tenant_publish.py DATA_DIR --only prepare        # fresh bench_tenants_<scale>
    python bench/tenant_publish.py DATA_DIR --only load           # DATA_DIR → tenant big
    python bench/tenant_publish.py DATA_DIR --only reload         # the same again (replaces it)
    python bench/tenant_publish.py DATA_DIR --only delete-insert [--rows N]
    python bench/tenant_publish.py DATA_DIR --only drop
    python bench/tenant_publish.py --smoke                        # every step on 2,000 rows

Steps (each one command, each well under 10 minutes at 20M rows):
  prepare        drop and create bench_tenants_<scale>, migrate, `analytics tenants create big`,
                 load the sample data/visible into tenant `default`
  load, reload   `analytics load DATA_DIR --tenant big` (a new dataset name each time, so
                 reload replaces the 20M rows load left), timed with the loader's phase lines
                 (read live, so each phase has a window on the same clock as the reader)
  delete-insert  the alternative on non-partitioned tables of the same shape and indexes
                 (alt_<table>), seeded with the same N rows of tenant big (untimed), then in
                 one transaction: DELETE the tenant's facts and rollups, COPY the N rows into
                 the live table, rebuild the rollups with INSERT … SELECT, ANALYZE, COMMIT;
                 then the VACUUM it leaves behind. No validation: the database's work only.
  drop           drop bench_tenants_<scale>

During load, reload and delete-insert a reader thread sends sequential anonymous GETs of
tenant default's /campaigns/cmp-001/performance to an `analytics serve` (DATABASE_URL,
ANONYMOUS_TENANT=default, 1 worker) on one keep-alive connection: --baseline seconds before
the step (the reference of the same run), during it, and 1 s after. Every latency is kept;
reported: count, p50, p99, max over the step and within each phase (the swap window runs
from the swap's start to the loader's last line, so its commit is inside), and every
non-200. Results merge into bench/out/tenant-publish-<scale>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib

STEPS = ("prepare", "load", "reload", "delete-insert", "drop")
BIG, DEFAULT = "big", "default"
READER_PATH = "/campaigns/cmp-001/performance"
SAMPLE_DIR = lib.ROOT / "data" / "visible"
FACTS = "campaign_daily_metrics"
ROLLUPS = {  # rollup → its key beside tenant_id (the loader's GROUP BY)
    "campaign_day_totals": ("campaign_id", "metric_date"),
    "campaign_creator_totals": ("campaign_id", "creator_id"),
}
MEASURES = ("impressions", "clicks", "conversions", "spend", "revenue")
PHASE_LINE = re.compile(r"INFO \S+: (?P<phase>[a-z ]+) took (?P<seconds>[\d.]+) s")
PUBLISHED_LINE = re.compile(r"INFO \S+: published ")
INDEX_DEFINITION = re.compile(r"CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?\S+ (USING .+)")
SERVICE_VARIABLES = (
    "DATA_DIR",
    "DATABASE_URL",
    "DATASET_NAME",
    "BENCHMARK_API_BASE",
    "BENCHMARK_FIXTURES_FILE",
    "ANONYMOUS_TENANT",
    "LOG_LEVEL",
)


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir: Path = args.data_dir.resolve()
        self.rows = lib.count_metric_rows(self.data_dir)
        self.scale: str = args.scale or lib.scale_label(self.rows)
        self.tag = re.sub(r"[^a-z0-9]", "_", self.scale.lower())
        self.database = lib.db_name("tenants", self.tag)
        self.url = lib.sqlalchemy_url(self.database, args.pg_server)
        self.libpq = lib.libpq_url(self.database, args.pg_server)
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
        self.env["LOG_LEVEL"] = "INFO"
        self.analytics = lib.venv_tool("analytics")


# --------------------------------------------------------------------------- the reader


class Reader(threading.Thread):
    """Sequential GETs on one keep-alive connection; (start, latency ms, status) of each."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.samples: list[tuple[float, float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stopping.is_set():
            begun = time.monotonic()
            try:
                connection.request("GET", READER_PATH)
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except OSError:
                connection.close()
                status = 0
            self.samples.append((begun, (time.monotonic() - begun) * 1000, status))
        connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=120)


def latency_stats(samples: list[tuple[float, float, int]], start: float, end: float) -> dict:
    """The requests that overlap [start, end]: count, p50, p99, max, non-200s."""
    inside = [s for s in samples if s[0] <= end and s[0] + s[1] / 1000 >= start]
    latencies = [s[1] for s in inside]
    return {
        "count": len(inside),
        "p50_ms": lib.percentile(latencies, 50),
        "p99_ms": lib.percentile(latencies, 99),
        "max_ms": max(latencies, default=None),
        "non200": sum(1 for s in inside if s[2] != 200),
        "window_s": round(end - start, 3),
    }


def with_reader(ctx: Context, work: Any) -> dict[str, Any]:
    """Run `work()` (returning (start, end, phases, extra)) while a reader reads tenant
    default; the reader's latencies before (the reference), during, and in each phase."""
    port = lib.free_port()
    command = [ctx.analytics, "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = dict(ctx.env, DATABASE_URL=ctx.url, ANONYMOUS_TENANT=DEFAULT, LOG_LEVEL="WARNING")
    with lib.Server("tenant-reader-serve", [*command, "--workers", "1"], port, env=env):
        status, body = lib.http_get(f"http://127.0.0.1:{port}{READER_PATH}")
        if status != 200:
            raise SystemExit(f"tenant default's {READER_PATH} answered {status}: {body[:200]!r}")
        reader = Reader(port)
        reader.start()
        time.sleep(ctx.args.baseline)
        start, end, phases, extra = work()
        time.sleep(1.0)
        reader.stop()
    samples = reader.samples
    first = samples[0][0] if samples else start
    result = {
        "reader": {
            "path": READER_PATH,
            "baseline": latency_stats(samples, first, start),
            "during": latency_stats(samples, start, end),
            "phases": {
                name: latency_stats(samples, begin, finish) for name, (begin, finish) in phases
            },
            "failures": [
                {"at_s": round(s[0] - start, 3), "ms": round(s[1], 1), "status": s[2]}
                for s in samples
                if s[2] != 200
            ][:50],
        },
        **extra,
    }
    return result


# --------------------------------------------------------------------------- steps


def psql(ctx: Context, database: str | None = None) -> list[str]:
    url = lib.libpq_url(database, ctx.args.pg_server) if database else ctx.libpq
    return [lib.pg_tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]


def scalar(ctx: Context, sql: str) -> str:
    return lib.run_checked([*psql(ctx), "-c", sql]).strip()


def step_prepare(ctx: Context) -> dict[str, Any]:
    started = time.monotonic()
    lib.create_database(ctx.database, ctx.args.pg_server)
    lib.run_checked([ctx.analytics, "migrate", "--database-url", ctx.url], env=ctx.env)
    lib.run_checked(
        [ctx.analytics, "tenants", "create", BIG, "--database-url", ctx.url], env=ctx.env
    )
    load = [ctx.analytics, "load", str(SAMPLE_DIR), "--tenant", DEFAULT, "--dataset", "visible"]
    out = lib.run_checked([*load, "--database-url", ctx.url], env=ctx.env).strip()
    print(f"  {out.splitlines()[-1] if out else ''}", file=sys.stderr)
    return {"database": ctx.database, "seconds": round(time.monotonic() - started, 2)}


def tenant_rows(ctx: Context, tenant: str) -> int:
    # As the superuser: row-level security does not apply; the tenant's partition only.
    return int(scalar(ctx, f"SELECT count(*) FROM {FACTS} WHERE tenant_id = '{tenant}'"))


def step_publish(ctx: Context, step: str) -> dict[str, Any]:
    """`analytics load --tenant big` with the reader running; phases from its log lines."""
    before = tenant_rows(ctx, BIG)
    dataset = f"big-{step}-{int(time.time())}"
    command = [ctx.analytics, "load", str(ctx.data_dir), "--tenant", BIG, "--dataset", dataset]
    command += ["--database-url", ctx.url]
    lines: list[tuple[float, str]] = []

    def work() -> tuple[float, float, list, dict]:
        log_path = lib.LOG_DIR / f"tenant-publish-{ctx.tag}-{step}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=ctx.env,
            text=True,
            start_new_session=True,
        )
        assert child.stdout is not None
        with log_path.open("w") as log:
            for text in child.stdout:
                lines.append((time.monotonic(), text.rstrip("\n")))
                log.write(text)
        returncode = child.wait(timeout=ctx.args.step_timeout)
        end = time.monotonic()
        if returncode != 0:
            tail = "\n".join(t for _, t in lines[-15:])
            raise SystemExit(f"load failed ({returncode}):\n{tail}")
        windows, durations = phase_windows(lines, end)
        return start, end, windows, {"phases_s": durations, "wall_s": round(end - start, 2)}

    result = with_reader(ctx, work)
    result.update(
        rows=ctx.rows,
        previous_rows_of_big=before,
        rows_of_big_after=tenant_rows(ctx, BIG),
        rows_of_default=tenant_rows(ctx, DEFAULT),
        loader_says=next((t for _, t in reversed(lines) if "published" in t), ""),
        dataset=dataset,
    )
    if result["rows_of_big_after"] != ctx.rows:
        raise SystemExit(f"tenant big holds {result['rows_of_big_after']:,} rows, not {ctx.rows:,}")
    return result


def phase_windows(
    lines: list[tuple[float, str]], end: float
) -> tuple[list[tuple[str, tuple[float, float]]], dict[str, float]]:
    """Each phase's (start, end) on our clock: it ends when its line arrives and lasted what
    the line says. The swap window is stretched to the loader's last log line: the commit
    (which holds the swap's locks) comes after the phase line."""
    windows, durations = [], {}
    published = next((at for at, text in lines if PUBLISHED_LINE.search(text)), end)
    for at, text in lines:
        match = PHASE_LINE.search(text)
        if match is None:
            continue
        name, seconds = match["phase"], float(match["seconds"])
        durations[name] = seconds
        finish = published if name == "swapping in" else at
        windows.append((name, (at - seconds, finish)))
    return windows, durations


def alt(table: str) -> str:
    return f"alt_{table}"


def step_delete_insert(ctx: Context) -> dict[str, Any]:
    """Seed the alt_ tables with N rows of tenant big (untimed), then the timed child."""
    rows = min(ctx.args.rows or ctx.rows, ctx.rows)
    seed_s = seed_alternative(ctx, rows)
    timings: dict[str, Any] = {}

    def work() -> tuple[float, float, list, dict]:
        command = [sys.executable, __file__, "--child-delete-insert", ctx.libpq]
        command += [str(ctx.data_dir / lib.METRICS_FILE), str(rows)]
        start = time.monotonic()
        run = lib.run_measured(
            command,
            env=ctx.env,
            timeout=ctx.args.step_timeout,
            log_path=lib.LOG_DIR / f"tenant-publish-{ctx.tag}-delete-insert-{rows}",
        )
        end = time.monotonic()
        if not run.ok:
            timed_out = " (timed out: rolled back)" if run.timed_out else ""
            timings.update(ok=False, wall_s=round(end - start, 1), error=run.tail() + timed_out)
            return start, end, [], {}
        timings.update(json.loads(run.stdout.strip().splitlines()[-1]))
        windows = [(name, tuple(span)) for name, span in timings.pop("windows").items()]
        return start, end, windows, {"wall_s": round(end - start, 2)}

    result = with_reader(ctx, work)
    vacuum_s = None
    if timings.get("ok", True):
        begun = time.monotonic()
        lib.run_checked([*psql(ctx), "-c", f"VACUUM {alt(FACTS)}"])
        vacuum_s = round(time.monotonic() - begun, 2)
    result.update(rows=rows, seed_s=seed_s, vacuum_after_s=vacuum_s, **timings)
    return result


def seed_alternative(ctx: Context, rows: int) -> float:
    """alt_<table>: plain tables shaped like the partitioned parents, with their indexes,
    holding N rows of tenant big and its rollups (built bare, indexed, vacuumed)."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(ctx.libpq) as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        connection.execute("SET work_mem = '256MB'")
        indexes = []
        for table in (FACTS, *ROLLUPS):
            connection.execute(f"DROP TABLE IF EXISTS {alt(table)}")
            connection.execute(
                f"CREATE TABLE {alt(table)} (LIKE {table} INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING STORAGE)"
            )
            found = connection.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)
            )
            for (definition,) in found:
                match = INDEX_DEFINITION.fullmatch(definition)
                assert match is not None, definition
                unique, name, rest = match.group(1) or "", match.group(2), match.group(3)
                indexes.append(f"CREATE {unique}INDEX alt_{name} ON {alt(table)} {rest}")
        copy_rows(connection, ctx.data_dir / lib.METRICS_FILE, rows, freeze=True)
        for rollup in ROLLUPS:
            connection.execute(rollup_sql(rollup))
        for statement in indexes:
            connection.execute(statement)
    with psycopg.connect(ctx.libpq, autocommit=True) as connection:
        for table in (FACTS, *ROLLUPS):
            connection.execute(f"VACUUM ANALYZE {alt(table)}")
    took = round(time.monotonic() - started, 2)
    print(f"  seeded alt_ tables with {rows:,} rows of tenant big in {took} s", file=sys.stderr)
    return took


def rollup_sql(rollup: str) -> str:
    key = ", ".join(("tenant_id", *ROLLUPS[rollup]))
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    return (
        f"INSERT INTO {alt(rollup)} SELECT {key}, {sums} FROM {alt(FACTS)} "
        f"WHERE tenant_id = '{BIG}' GROUP BY {key}"
    )


def copy_rows(connection: Any, metrics: Path, rows: int, *, freeze: bool) -> int:
    """COPY the first `rows` rows of the metrics file into alt facts as tenant big: the
    file is cut and prefixed by tail/head/sed, so no Python touches a row."""
    header = metrics.open(encoding="utf-8").readline().strip()
    pipeline = f"tail -n +2 {shlex.quote(str(metrics))} | head -n {int(rows)} | sed 's/^/{BIG},/'"
    options = "FORMAT csv, FREEZE" if freeze else "FORMAT csv"
    statement = f"COPY {alt(FACTS)} (tenant_id, {header}) FROM STDIN ({options})"
    source = subprocess.Popen(["sh", "-c", pipeline], stdout=subprocess.PIPE)
    assert source.stdout is not None
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        while block := source.stdout.read(1 << 20):
            copy.write(block)
    if source.wait() != 0:
        raise SystemExit(f"`{pipeline}` failed")
    return rows


def child_delete_insert(libpq: str, metrics: Path, rows: int) -> None:
    """The timed alternative, in one transaction; prints its timings as one JSON line."""
    import psycopg

    statements: dict[str, float] = {}
    windows: dict[str, list[float]] = {}  # CLOCK_MONOTONIC, shared with the parent process

    def timed(name: str, action: Any) -> None:
        begun = time.monotonic()
        action()
        ended = time.monotonic()
        statements[name] = round(statements.get(name, 0.0) + ended - begun, 3)
        windows.setdefault(name, [begun, ended])[1] = ended

    started = time.monotonic()
    with psycopg.connect(libpq) as connection:  # one transaction, committed on exit
        connection.execute("SET LOCAL statement_timeout = 0")
        connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
        connection.execute("SET LOCAL work_mem = '256MB'")
        for table in (FACTS, *ROLLUPS):
            delete = f"DELETE FROM {alt(table)} WHERE tenant_id = '{BIG}'"
            timed("delete facts and rollups", lambda d=delete: connection.execute(d))
        timed("copy facts", lambda: copy_rows(connection, metrics, rows, freeze=False))
        for rollup in ROLLUPS:
            timed("rollups insert-select", lambda r=rollup: connection.execute(rollup_sql(r)))
        for table in (FACTS, *ROLLUPS):
            timed("analyze", lambda t=table: connection.execute(f"ANALYZE {alt(t)}"))
        begun = time.monotonic()
    ended = time.monotonic()
    statements["commit"], windows["commit"] = round(ended - begun, 3), [begun, ended]
    total = round(ended - started, 3)
    result = {"ok": True, "statements_s": statements, "windows": windows, "transaction_s": total}
    print(json.dumps(result))


def step_drop(ctx: Context) -> dict[str, Any]:
    lib.drop_database(ctx.database, ctx.args.pg_server)
    return {"dropped": ctx.database}


# --------------------------------------------------------------------------- report


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def report_tables(report: dict[str, Any]) -> str:
    out = []
    publish_rows, reader_rows = [], []
    for key, result in report.get("steps", {}).items():
        if key in ("prepare", "drop") or "reader" not in result:
            continue
        if key.startswith("delete-insert"):
            phases = result.get("statements_s", {})
            total = result.get("transaction_s") or result.get("wall_s")
        else:
            phases = result.get("phases_s", {})
            total = result.get("wall_s")
        phase_text = ", ".join(
            f"{name} {seconds:g} s" for name, seconds in phases.items() if seconds is not None
        )
        publish_rows.append([key, f"{result['rows']:,}", total, phase_text])
        reader = result["reader"]
        for window, stats in [
            ("before (reference)", reader["baseline"]),
            ("whole step", reader["during"]),
            *reader["phases"].items(),
        ]:
            reader_rows.append(
                [
                    key,
                    window,
                    stats["window_s"],
                    stats["count"],
                    fmt_ms(stats["p50_ms"]),
                    fmt_ms(stats["p99_ms"]),
                    fmt_ms(stats["max_ms"]),
                    stats["non200"],
                ]
            )
    if publish_rows:
        headers = ["step", "rows", "total s", "phases"]
        out.append(lib.markdown_table(headers, publish_rows))
    if reader_rows:
        headers = ["step", "reader window", "s", "requests", "p50 ms", "p99 ms", "max ms"]
        out.append(lib.markdown_table([*headers, "non-200"], reader_rows))
    return "\n\n".join(out)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", help="the generated data directory")
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(STEPS)}")
    parser.add_argument("--rows", type=int, help="delete-insert: first N rows (default: all)")
    parser.add_argument("--baseline", type=float, default=5.0, help="reader seconds before")
    parser.add_argument("--step-timeout", type=float, default=570.0, help="seconds per child")
    parser.add_argument("--pg-server", default=lib.PG_SERVER, help="libpq URL, no database")
    parser.add_argument("--scale", help="label of the results file (default: from row count)")
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--smoke", action="store_true", help="every step on 2,000 rows")
    parser.add_argument("--child-delete-insert", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.child_delete_insert:
        return args
    if args.smoke:
        args.out_dir = lib.OUT_DIR / "smoke"
        args.data_dir = args.data_dir or args.out_dir / "data"
        args.scale, args.baseline = args.scale or "smoke", 1.0
        args.steps = args.steps or list(STEPS)
    if set(args.steps) - set(STEPS) or not args.steps:
        parser.error(f"--only one or more of: {', '.join(STEPS)}")
    if args.data_dir is None:
        parser.error("DATA_DIR is required (unless --smoke)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_delete_insert:
        libpq, metrics, rows = args.child_delete_insert
        child_delete_insert(libpq, Path(metrics), int(rows))
        return
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    if args.smoke:
        lib.run_checked([sys.executable, str(lib.BENCH_DIR / "generate.py"), "--smoke"])
    ctx = Context(args)
    path = args.out_dir / f"tenant-publish-{ctx.scale}.json"
    report = lib.read_json(path)
    report.update(scale=ctx.scale, rows=ctx.rows, database=ctx.database)
    report.setdefault("steps", {})
    for step in args.steps:
        print(f"[{step}] {ctx.database}, {ctx.rows:,} rows", file=sys.stderr, flush=True)
        started = time.monotonic()
        if step == "prepare":
            result = step_prepare(ctx)
        elif step in ("load", "reload"):
            result = step_publish(ctx, step)
        elif step == "delete-insert":
            result = step_delete_insert(ctx)
        else:
            result = step_drop(ctx)
        result.setdefault("wall_s", round(time.monotonic() - started, 2))
        result["machine"] = lib.machine_info()
        key = f"delete-insert {result['rows']:,}" if step == "delete-insert" else step
        report["steps"][key] = result
        lib.write_json(path, report)
        print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    print(f"\n### Tenant publish, {ctx.scale} rows ({ctx.rows:,})\n")
    print(report_tables(report))
    print(f"\n(results: {path})")


if __name__ == "__main__":
    main()
