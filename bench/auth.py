"""Key vs anonymous latency: the same request, same server process, with and without a key.

    python bench/auth.py DATA_DIR [--engines pg,duckdb] [--pg-url URL] [--duckdb-file FILE]
                         [--rounds 30] [--per-round 100] [--warmup 300]
    python bench/auth.py --smoke      # 2,000 generated rows, 3 rounds of 20, DBs dropped

For each engine, one `analytics serve` (DATABASE_URL, ANONYMOUS_TENANT=default, 1 worker)
serves tenant `default` (DATA_DIR loaded into it) to both modes:
  anonymous  no Authorization header: the anonymous tenant, a viewer
  key        `Authorization: Bearer cak_…`, a viewer key of tenant `default` made here by
             `analytics keys create` (so the same rows are read either way)
Requests are sequential on one keep-alive connection (http.client, no pipelining). After a
warm-up of each mode, each round sends --per-round requests in one mode then the same
campaign sequence in the other, the order alternating round by round (AB, BA, …), so drift
and machine noise hit both modes alike. Reported per endpoint: p50/p90/p99/mean of each
mode over every measured request, the p50 difference (key - anonymous) and the median of
the rounds' p50 differences. Every answer must be 200 (else counted as an error).

Without --pg-url/--duckdb-file, DATA_DIR is loaded into bench_auth_<scale> and
bench/out/work/bench_auth_<scale>.duckdb (a no-op when already loaded); --drop removes them
afterwards. Results: bench/out/auth-<scale>.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib

TENANT = "default"
ENGINES = ("pg", "duckdb")
ENDPOINTS = {
    "performance": "/campaigns/{id}/performance",
    "top": "/creators/top?campaign_id={id}&limit=10",
}
MODES = ("anonymous", "key")
SERVICE_VARIABLES = (
    "DATA_DIR",
    "DATABASE_URL",
    "DATASET_NAME",
    "BENCHMARK_API_BASE",
    "BENCHMARK_FIXTURES_FILE",
    "ANONYMOUS_TENANT",
)
HEADERS = ["engine", "endpoint", "mode", "requests", "p50 ms", "p90 ms", "p99 ms", "mean ms"]
HEADERS += ["Δp50 ms", "median round Δp50 ms", "errors"]


# --------------------------------------------------------------------------- preparation


def prepare(args: argparse.Namespace, engine: str, tag: str, env: dict, stack: ExitStack) -> str:
    """The SQLAlchemy URL of a database holding DATA_DIR in tenant `default`."""
    analytics = lib.venv_tool("analytics")
    load = [analytics, "load", str(args.data_dir), "--dataset", f"bench-{tag}"]
    if engine == "pg":
        if args.pg_url:
            return args.pg_url
        name = lib.db_name("auth", tag)
        url = lib.sqlalchemy_url(name, args.pg_server)
        if not lib.database_exists(name, args.pg_server):
            lib.create_database(name, args.pg_server)
        if args.drop:
            stack.callback(lib.drop_database, name, args.pg_server)
        lib.run_checked([analytics, "migrate", "--database-url", url], env=env)
    else:
        if args.duckdb_file:
            return f"duckdb:///{args.duckdb_file.resolve()}"
        path = (args.work_dir / f"bench_auth_{tag}.duckdb").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.drop:
            stack.callback(path.unlink, missing_ok=True)
            stack.callback(path.with_name(path.name + ".wal").unlink, missing_ok=True)
        url = f"duckdb:///{path}"
    started = time.perf_counter()
    out = lib.run_checked([*load, "--database-url", url], env=env).strip().splitlines()
    took = time.perf_counter() - started
    print(f"  load ({engine}): {out[-1] if out else ''} ({took:.1f} s)", file=sys.stderr)
    return url


def viewer_key(url: str, env: dict) -> str:
    """A fresh viewer key of tenant `default` (`analytics keys create` prints it on stdout)."""
    command = [lib.venv_tool("analytics"), "keys", "create", "--tenant", TENANT]
    command += ["--role", "viewer", "--name", "bench-auth", "--database-url", url]
    secret = lib.run_checked(command, env=env).strip().splitlines()[0].strip()
    if not re.fullmatch(r"cak_[a-z2-7]{16}_[A-Za-z0-9_-]{43}", secret):
        raise SystemExit(f"`analytics keys create` printed no key: {secret[:12]!r}…")
    return secret


def service(args: argparse.Namespace, engine: str, url: str, env: dict) -> lib.Server:
    port = lib.free_port()
    command = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1"]
    server_env = dict(env, DATABASE_URL=url, ANONYMOUS_TENANT=TENANT)
    server_env["LOG_LEVEL"] = args.log_level.upper()
    return lib.Server(f"auth-{engine}", command, port, env=server_env)


# --------------------------------------------------------------------------- measuring


class Client:
    """One keep-alive HTTP/1.1 connection; GETs with or without the key."""

    def __init__(self, port: int, key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"anonymous": {}, "key": {"Authorization": f"Bearer {key}"}}

    def get(self, path: str, mode: str) -> tuple[float, int, bytes]:
        """(milliseconds, status, body)."""
        begun = time.perf_counter()
        try:
            self.connection.request("GET", path, headers=self.headers[mode])
            answer = self.connection.getresponse()
            body = answer.read()
        except OSError:
            self.connection.close()
            return (time.perf_counter() - begun) * 1000, 0, b""
        return (time.perf_counter() - begun) * 1000, answer.status, body

    def close(self) -> None:
        self.connection.close()


def check_modes(client: Client, path: str) -> None:
    """Both modes answer 200 with the same body, and a wrong key is refused (401)."""
    _, anonymous_status, anonymous = client.get(path, "anonymous")
    _, key_status, keyed = client.get(path, "key")
    if (anonymous_status, key_status) != (200, 200) or anonymous != keyed:
        raise SystemExit(
            f"{path}: anonymous {anonymous_status}, key {key_status}, "
            f"same body: {anonymous == keyed}"
        )
    wrong = dict(client.headers["key"])
    client.headers["wrong"] = {"Authorization": wrong["Authorization"][:-4] + "AAAA"}
    _, wrong_status, _ = client.get(path, "wrong")
    if wrong_status != 401:
        raise SystemExit(f"{path}: a wrong key answered {wrong_status}, not 401")


def measure(args: argparse.Namespace, client: Client, template: str, ids: list[str]) -> dict:
    """Warm-up, then alternating rounds; every latency of each mode, and per-round p50s."""
    picker = random.Random(args.seed)

    def paths(count: int) -> list[str]:
        return [template.replace("{id}", quote(picker.choice(ids), safe="")) for _ in range(count)]

    for mode in MODES:
        for path in paths(args.warmup):
            client.get(path, mode)
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    errors = dict.fromkeys(MODES, 0)
    round_deltas: list[float] = []
    for number in range(args.rounds):
        sequence = paths(args.per_round)
        order = MODES if number % 2 == 0 else MODES[::-1]
        round_p50: dict[str, float] = {}
        for mode in order:
            batch = []
            for path in sequence:
                took, status, _ = client.get(path, mode)
                errors[mode] += status != 200
                batch.append(took)
            latencies[mode] += batch
            round_p50[mode] = statistics.median(batch)
        round_deltas.append(round_p50["key"] - round_p50["anonymous"])
    return {"latencies": latencies, "errors": errors, "round_deltas": round_deltas}


def summarise(engine: str, endpoint: str, measured: dict) -> list[dict[str, Any]]:
    rows = []
    p50 = {mode: lib.percentile(measured["latencies"][mode], 50) for mode in MODES}
    for mode in MODES:
        samples = measured["latencies"][mode]
        rows.append(
            {
                "engine": engine,
                "endpoint": endpoint,
                "mode": mode,
                "requests": len(samples),
                "p50_ms": p50[mode],
                "p90_ms": lib.percentile(samples, 90),
                "p99_ms": lib.percentile(samples, 99),
                "max_ms": max(samples),
                "mean_ms": statistics.fmean(samples),
                "errors": measured["errors"][mode],
                "p50_delta_ms": p50["key"] - p50["anonymous"] if mode == "key" else None,
                "median_round_delta_ms": (
                    statistics.median(measured["round_deltas"]) if mode == "key" else None
                ),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    return rows


def run_engine(args: argparse.Namespace, engine: str, url: str, env: dict) -> list[dict]:
    ids = lib.campaign_ids(args.data_dir)
    key = viewer_key(url, env)
    rows: list[dict[str, Any]] = []
    with service(args, engine, url, env) as server:
        client = Client(server.port, key)
        try:
            for endpoint in args.endpoints:
                template = ENDPOINTS[endpoint]
                check_modes(client, template.replace("{id}", quote(ids[0], safe="")))
                measured = measure(args, client, template, ids)
                for row in summarise(engine, endpoint, measured):
                    rows.append(row)
                    print(f"  {line(row)}", file=sys.stderr, flush=True)
        finally:
            client.close()
    return rows


def line(row: dict[str, Any]) -> str:
    text = (
        f"{row['engine']} {row['endpoint']} {row['mode']}: {row['requests']} requests, "
        f"p50 {row['p50_ms']:.3f} ms, p99 {row['p99_ms']:.3f} ms, errors {row['errors']}"
    )
    if row["p50_delta_ms"] is not None:
        text += f", Δp50 {row['p50_delta_ms']:+.3f} ms"
    return text


def table(rows: list[dict[str, Any]]) -> str:
    def r3(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    body = [
        [
            row["engine"],
            row["endpoint"],
            row["mode"],
            row["requests"],
            r3(row["p50_ms"]),
            r3(row["p90_ms"]),
            r3(row["p99_ms"]),
            r3(row["mean_ms"]),
            r3(row["p50_delta_ms"]),
            r3(row["median_round_delta_ms"]),
            row["errors"],
        ]
        for row in rows
    ]
    return lib.markdown_table(HEADERS, body)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", help="the generated data directory")
    parser.add_argument("--engines", default=",".join(ENGINES), help="pg,duckdb")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--pg-url", help="PostgreSQL database already holding DATA_DIR")
    parser.add_argument("--duckdb-file", type=Path, help="DuckDB file already holding DATA_DIR")
    parser.add_argument("--pg-server", default=lib.PG_SERVER, help="libpq URL, no database")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100, help="requests per mode a round")
    parser.add_argument("--warmup", type=int, default=300, help="requests per mode first")
    parser.add_argument("--log-level", default="info", help="LOG_LEVEL of the server")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", help="label of the results file (default: from row count)")
    parser.add_argument("--work-dir", type=Path, default=lib.OUT_DIR / "work")
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--drop", action="store_true", help="drop what was loaded here")
    parser.add_argument("--smoke", action="store_true", help="tiny data, short runs, dropped")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if set(args.engines) - set(ENGINES) or set(args.endpoints) - set(ENDPOINTS):
        parser.error(f"engines: {', '.join(ENGINES)}; endpoints: {', '.join(ENDPOINTS)}")
    if args.smoke:
        args.out_dir = args.work_dir = lib.OUT_DIR / "smoke"
        args.data_dir = args.data_dir or args.out_dir / "data"
        args.scale = args.scale or "smoke"
        args.rounds, args.per_round, args.warmup, args.drop = 3, 20, 20, True
    if args.data_dir is None:
        parser.error("DATA_DIR is required (unless --smoke)")
    args.data_dir = args.data_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lib.install_signal_exit()
    lib.LOG_DIR = args.out_dir / "logs"
    if args.smoke:
        lib.run_checked([sys.executable, str(lib.BENCH_DIR / "generate.py"), "--smoke"])
    rows_count = lib.count_metric_rows(args.data_dir)
    scale = args.scale or lib.scale_label(rows_count)
    tag = re.sub(r"[^a-z0-9]", "_", scale.lower())
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    path = args.out_dir / f"auth-{scale}.json"
    report = lib.read_json(path)
    report.update(
        scale=scale,
        rows=rows_count,
        data_dir=str(args.data_dir),
        machine=lib.machine_info(),
        settings={
            k: getattr(args, k) for k in ("rounds", "per_round", "warmup", "log_level", "seed")
        },
    )
    results = [r for r in report.get("results", []) if r["engine"] not in args.engines]
    print(f"auth benchmark: {rows_count:,} rows ({scale})", file=sys.stderr)
    with ExitStack() as stack:
        for engine in args.engines:
            print(f"[{engine}]", file=sys.stderr, flush=True)
            url = prepare(args, engine, tag, env, stack)
            results += run_engine(args, engine, url, env)
            report["results"] = results
            lib.write_json(path, report)
    print(f"\n### Key vs anonymous, {scale} rows ({rows_count:,}), 1 worker, sequential\n")
    print(table(report["results"]))
    print(f"\n(results: {path})")
    if any(row["errors"] for row in report["results"]):
        raise SystemExit("some requests did not answer 200 (see the table)")


if __name__ == "__main__":
    main()
