"""Ingest benchmark: how fast a data directory gets into each engine, against a floor.

    python bench/ingest.py DATA_DIR [--only floor,ours-pg,ours-duckdb,pandas] [--keep]
    python bench/ingest.py --smoke          # 2,000 generated rows, every step, DBs dropped

Steps (each one a child process, timed with its peak RSS):
  floor        psql \\copy of the metrics file into an index-less table of the same types
  ours-pg      `analytics load` into a fresh PostgreSQL database (created, then migrated)
  ours-duckdb  `analytics load` into a fresh DuckDB file
  pandas       pandas read_csv + DataFrame.to_sql on the first --pandas-rows rows,
               extrapolated to the whole file (and labelled so)

Results are merged into bench/out/ingest-<scale>.json (steps run separately add up), and
the Markdown table of everything measured at that scale is printed. Databases are named
bench_ingest_*; they are dropped afterwards unless --keep (ours-pg's database and DuckDB
file can then be served by api.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib

STEPS = ("floor", "ours-pg", "ours-duckdb", "pandas")
LABELS = {
    "floor": "psql \\copy, index-less table (floor)",
    "ours-pg": "analytics load → PostgreSQL",
    "ours-duckdb": "analytics load → DuckDB file",
    "pandas": "pandas read_csv + to_sql → PostgreSQL",
}
COLUMN_TYPES = {
    "metric_date": "date NOT NULL",
    "campaign_id": 'varchar COLLATE "C" NOT NULL',
    "creator_id": 'varchar COLLATE "C" NOT NULL',
    "impressions": "bigint NOT NULL",
    "clicks": "bigint NOT NULL",
    "conversions": "bigint NOT NULL",
    "spend": "numeric(18, 2) NOT NULL",
    "revenue": "numeric(18, 2)",
}
SERVICE_VARIABLES = ("DATA_DIR", "DATABASE_URL", "DATASET_NAME", "BENCHMARK_FIXTURES_FILE")


class Context:
    """What every step needs to know."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.data_dir: Path = args.data_dir.resolve()
        self.metrics = self.data_dir / lib.METRICS_FILE
        self.rows = lib.count_metric_rows(self.data_dir)
        self.scale: str = args.scale or lib.scale_label(self.rows)
        self.tag = re.sub(r"[^a-z0-9]", "_", self.scale.lower())
        self.server: str = args.pg_server
        self.keep: bool = args.keep
        self.timeout: float = args.step_timeout
        self.work_dir: Path = args.work_dir
        self.args = args
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}

    def log(self, step: str) -> Path:
        return lib.LOG_DIR / f"ingest-{self.tag}-{step}"


# --------------------------------------------------------------------------- steps


def result(ctx: Context, step: str, run: lib.Measured, rows: int, **extra: Any) -> dict[str, Any]:
    """One step's numbers; rows/s over the child's whole wall time (start-up included)."""
    if not run.ok:
        print(f"  {step} FAILED (exit {run.returncode}):\n{run.tail()}", file=sys.stderr)
    return {
        "step": step,
        "label": LABELS[step],
        "ok": run.ok,
        "rows": rows,
        "wall_s": round(run.wall_s, 3),
        "rows_per_s": round(rows / run.wall_s) if run.ok and run.wall_s else None,
        "peak_rss_mb": run.peak_rss_mb,
        "peak_tree_rss_mb": run.peak_tree_rss_mb,
        "extrapolated": False,
        "command": " ".join(run.command),
        "error": None if run.ok else run.tail(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }


def database_size_mb(ctx: Context, database: str) -> float:
    import psycopg

    with psycopg.connect(lib.libpq_url(database, ctx.server)) as connection:
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return round(size / 2**20, 1)


def count_rows(ctx: Context, database: str, table: str) -> int:
    import psycopg

    with psycopg.connect(lib.libpq_url(database, ctx.server)) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def metrics_header(ctx: Context) -> list[str]:
    with ctx.metrics.open(encoding="utf-8") as source:
        header = [name.strip() for name in source.readline().strip().split(",")]
    unknown = [name for name in header if name not in COLUMN_TYPES]
    if unknown:
        raise SystemExit(f"floor: unexpected columns {unknown} in {ctx.metrics}")
    return header


def step_floor(ctx: Context) -> dict[str, Any]:
    database = lib.db_name("ingest_floor", ctx.tag)
    header = metrics_header(ctx)
    columns = ",\n  ".join(f"{name} {COLUMN_TYPES[name]}" for name in COLUMN_TYPES)
    path = str(ctx.metrics).replace("'", "''")
    copy = (
        f"\\copy metrics_floor ({', '.join(header)}) FROM '{path}' "
        "WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
    )
    with lib.temporary_database(database, keep=ctx.keep, server=ctx.server):
        url = lib.libpq_url(database, ctx.server)
        psql = [lib.pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
        lib.run_checked([*psql, "-c", f"CREATE TABLE metrics_floor (\n  {columns}\n)"])
        run = lib.run_measured(
            [*psql, "-c", copy], env=ctx.env, timeout=ctx.timeout, log_path=ctx.log("floor")
        )
        extra = {}
        if run.ok:
            extra = {
                "db_size_mb": database_size_mb(ctx, database),
                "loaded_rows": count_rows(ctx, database, "metrics_floor"),
            }
        return result(ctx, "floor", run, ctx.rows, database=database, **extra)


def step_ours_pg(ctx: Context) -> dict[str, Any]:
    database = lib.db_name("ingest_ours", ctx.tag)
    analytics = lib.venv_tool("analytics")
    with lib.temporary_database(database, keep=ctx.keep, server=ctx.server):
        url = lib.sqlalchemy_url(database, ctx.server)
        started = time.perf_counter()
        lib.run_checked([analytics, "migrate", "--database-url", url], env=ctx.env)
        migrate_s = time.perf_counter() - started
        command = [analytics, "load", str(ctx.data_dir), "--database-url", url]
        run = lib.run_measured(
            [*command, "--dataset", f"bench-{ctx.tag}"],
            env=ctx.env,
            timeout=ctx.timeout,
            log_path=ctx.log("ours-pg"),
        )
        extra: dict[str, Any] = {"migrate_s": round(migrate_s, 2), "database_url": url}
        if run.ok:
            extra["db_size_mb"] = database_size_mb(ctx, database)
            extra["loaded_rows"] = count_rows(ctx, database, "campaign_daily_metrics")
        return result(ctx, "ours-pg", run, ctx.rows, loader_says=published_line(run), **extra)


def step_ours_duckdb(ctx: Context) -> dict[str, Any]:
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    path = (ctx.work_dir / f"bench_ingest_{ctx.tag}.duckdb").resolve()
    remove_duckdb(path)
    url = f"duckdb:///{path}"
    command = [lib.venv_tool("analytics"), "load", str(ctx.data_dir), "--database-url", url]
    try:
        run = lib.run_measured(
            [*command, "--dataset", f"bench-{ctx.tag}"],
            env=ctx.env,
            timeout=ctx.timeout,
            log_path=ctx.log("ours-duckdb"),
        )
        extra: dict[str, Any] = {"database_url": url}
        if run.ok:
            extra["file_size_mb"] = round(path.stat().st_size / 2**20, 1)
            extra["loaded_rows"] = duckdb_count(path)
        return result(ctx, "ours-duckdb", run, ctx.rows, loader_says=published_line(run), **extra)
    finally:
        if not ctx.keep:
            remove_duckdb(path)


def remove_duckdb(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


def duckdb_count(path: Path) -> int:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return int(connection.execute("SELECT count(*) FROM campaign_daily_metrics").fetchone()[0])


def published_line(run: lib.Measured) -> str | None:
    lines = [line for line in run.stdout.splitlines() if line.startswith(("published", "'"))]
    return lines[-1] if lines else None


def step_pandas(ctx: Context) -> dict[str, Any]:
    database = lib.db_name("ingest_pandas", ctx.tag)
    sample = min(ctx.args.pandas_rows, ctx.rows)
    options = {
        "--rows": sample,
        "--chunksize": ctx.args.pandas_chunksize,
        "--method": ctx.args.pandas_method,
    }
    child = [sys.executable, str(lib.BENCH_DIR / "pandas_load.py"), str(ctx.metrics)]
    child += [lib.sqlalchemy_url(database, ctx.server), *lib.flags(options)]
    with lib.temporary_database(database, keep=ctx.keep, server=ctx.server):
        run = lib.run_measured(child, env=ctx.env, timeout=ctx.timeout, log_path=ctx.log("pandas"))
    out = result(ctx, "pandas", run, ctx.rows)
    if not run.ok:
        return out
    inner = json.loads(run.stdout.strip().splitlines()[-1])
    work_s = inner["read_s"] + inner["write_s"]
    full_s = work_s * ctx.rows / sample
    out.update(
        rows_measured=sample,
        wall_s_measured=round(run.wall_s, 3),
        read_s=round(inner["read_s"], 3),
        write_s=round(inner["write_s"], 3),
        wall_s=round(full_s, 3),
        rows_per_s=round(sample / work_s),
        extrapolated=sample < ctx.rows,
        method=f"to_sql(method={ctx.args.pandas_method!r}, chunksize={ctx.args.pandas_chunksize})",
        note="peak RSS is of the measured slice" if sample < ctx.rows else None,
    )
    return out


RUNNERS = {
    "floor": step_floor,
    "ours-pg": step_ours_pg,
    "ours-duckdb": step_ours_duckdb,
    "pandas": step_pandas,
}


# --------------------------------------------------------------------------- report


def results_path(out_dir: Path, scale: str) -> Path:
    return out_dir / f"ingest-{scale}.json"


def table(report: dict[str, Any]) -> str:
    steps = report["steps"]
    floor = steps.get("floor", {}).get("rows_per_s")
    rows = []
    for name in STEPS:
        step = steps.get(name)
        if step is None:
            continue
        rate = step.get("rows_per_s")
        ratio = round(rate / floor, 3) if rate and floor else None
        label = step["label"] + (" (extrapolated)" if step.get("extrapolated") else "")
        shown_rate = f"{rate:,}" if rate else ("FAILED" if not step["ok"] else None)
        wall, rss = lib.fmt(step["wall_s"], 1), lib.fmt(step["peak_rss_mb"])
        rows.append([label, f"{step['rows']:,}", wall, shown_rate, ratio, rss])
    headers = ["step", "rows", "wall s", "rows/s", "vs floor", "peak RSS MB"]
    return lib.markdown_table(headers, rows)


def run_steps(ctx: Context, steps: list[str], out_dir: Path) -> dict[str, Any]:
    path = results_path(out_dir, ctx.scale)
    report = lib.read_json(path) or {"steps": {}}
    report.update(
        scale=ctx.scale, rows=ctx.rows, data_dir=str(ctx.data_dir), machine=lib.machine_info()
    )
    for step in steps:
        print(f"[{step}] {LABELS[step]} …", file=sys.stderr, flush=True)
        report["steps"][step] = RUNNERS[step](ctx)
        lib.write_json(path, report)  # after every step: an interrupted run keeps the rest
        print(f"[{step}] {report['steps'][step]['wall_s']} s", file=sys.stderr, flush=True)
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--scale", help="label of the results file (default: from row count)")
    parser.add_argument("--pg-server", default=lib.PG_SERVER, help="libpq URL without database")
    parser.add_argument("--pandas-rows", type=int, default=1_000_000)
    parser.add_argument("--pandas-chunksize", type=int, default=5000)
    parser.add_argument("--pandas-method", choices=["multi", "default"], default="multi")
    parser.add_argument("--work-dir", type=Path, default=lib.OUT_DIR / "work")
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--step-timeout", type=float, default=3600.0, help="seconds per step")
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    parser.add_argument("--smoke", action="store_true", help="tiny generated data, all steps")
    args = parser.parse_args(argv)
    args.steps = [step.strip() for step in args.only.split(",") if step.strip()]
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")
    if args.smoke:
        args.out_dir = args.work_dir = lib.OUT_DIR / "smoke"
        args.data_dir = args.data_dir or args.out_dir / "data"
        args.scale = args.scale or "smoke"
        args.pandas_rows = min(args.pandas_rows, 1000)  # exercises the extrapolation
    if args.data_dir is None:
        parser.error("DATA_DIR is required (unless --smoke)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    if args.smoke:
        lib.run_checked([sys.executable, str(lib.BENCH_DIR / "generate.py"), "--smoke"])
    if not (args.data_dir / lib.METRICS_FILE).is_file():
        raise SystemExit(f"{args.data_dir} has no {lib.METRICS_FILE}")
    ctx = Context(args)
    print(f"ingest benchmark: {ctx.rows:,} rows ({ctx.scale}) from {ctx.data_dir}", file=sys.stderr)
    report = run_steps(ctx, args.steps, args.out_dir)
    print(f"\n### Ingest, {ctx.scale} rows ({ctx.rows:,})\n")
    print(table(report))
    print(f"\n(results: {results_path(args.out_dir, ctx.scale)})")
    failed = [name for name in args.steps if not report["steps"][name]["ok"]]
    if failed:
        raise SystemExit(f"failed steps: {', '.join(failed)}")


if __name__ == "__main__":
    main()
