"""The API's latency with and without an anomaly scan running beside it (issue "Scheduled
work", CONTRACT.md §9): "a scan of 2,000 campaigns at 20M rows does not raise the API's p99
by more than 20% while it runs".

    python bench/scan_load.py DATA_DIR --pg-url postgresql+psycopg://…/bench_scan_20m \\
        [--pairs 10] [--duration 5] [--connections 16] [--scan-batch-size 100] \\
        [--scan-pause-factor 0]

DATA_DIR is the directory loaded into the database (tenant `default`): its campaign ids feed
wrk (bench/pick_campaign.lua, a random campaign per request) against one `analytics serve`
(no scheduler). One `analytics jobs run anomaly_scan` runs in its own process against the
same database; wrk windows of `--duration` seconds alternate between the scan frozen
(SIGSTOP: the API alone) and running (SIGCONT), `--pairs` times, the order swapped every
pair, so that the drift of a shared machine falls on both sides alike; the verdict compares
the medians of the windows' p99. The scan is stopped at the end (the next scan's claim marks
its run abandoned). Run one scan to completion first: later scans store nothing new but read
and evaluate as much (what every scheduled scan after the first does).
`--scan-pause-factor` sets the scan's SCAN_PAUSE_FACTOR. Results in bench/out/scan-load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib

LUA = lib.BENCH_DIR / "pick_campaign.lua"
TEMPLATES = {
    "performance": "/campaigns/{id}/performance",
    "anomalies": "/campaigns/{id}/anomalies",
    "top": "/creators/top?campaign_id={id}&limit=10",
}


def wrk(args: argparse.Namespace, base_url: str, ids_file: Path) -> dict[str, Any]:
    command = [lib.require_tool("wrk", "apt-get install -y wrk"), "-t", "2"]
    command += ["-c", str(args.connections), "-d", f"{args.duration}s", "--timeout", "10s"]
    command += ["-s", str(LUA), base_url, "--", str(ids_file), TEMPLATES[args.endpoint], "7"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    raw = json.loads(next(ln for ln in out.splitlines() if ln.startswith("WRK_JSON "))[9:])
    errors = raw["non2xx"] + raw["timeouts"] + raw["connect_errors"] + raw["read_errors"]
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def scan_process(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [lib.venv_tool("analytics"), "jobs", "run", "anomaly_scan"]
    env = {
        **env,
        "SCAN_BATCH_SIZE": str(args.scan_batch_size),
        "SCAN_PAUSE_FACTOR": str(args.scan_pause_factor),
        # the scan stopped at the end is abandoned by the next one's claim
        "SCHEDULER_STALE_RUN_SECONDS": "2",
        # frozen by SIGSTOP for a window, its statements must outlive their deadline
        "DATABASE_REQUEST_TIMEOUT": "300",
    }
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def interleaved(args: argparse.Namespace, env: dict[str, str], base_url: str, ids: Path) -> list:
    """One scan; wrk windows alternately with the scan frozen (SIGSTOP: "alone") and running
    (SIGCONT: "scan"), pair after pair, so that the machine's drift falls on both sides."""
    rows: list[dict[str, Any]] = []
    scan = scan_process(args, env)
    time.sleep(args.scan_head_start)  # its process start-up is not the scan
    try:
        for pair in range(args.pairs):
            order = ("alone", "scan") if pair % 2 == 0 else ("scan", "alone")
            for kind in order:
                if scan.poll() is not None:
                    output = scan.communicate()
                    raise RuntimeError(f"the scan ended before the measurement: {output}")
                os.kill(scan.pid, signal.SIGSTOP if kind == "alone" else signal.SIGCONT)
                rows.append({"pair": pair, "kind": kind, **wrk(args, base_url, ids)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        os.kill(scan.pid, signal.SIGCONT)
        scan.terminate()
        scan.communicate(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk window")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--endpoint", choices=sorted(TEMPLATES), default="performance")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scan-batch-size", type=int, default=100)
    parser.add_argument("--scan-pause-factor", type=float, default=0.0)
    parser.add_argument("--scan-head-start", type=float, default=3.0)
    args = parser.parse_args()
    lib.install_signal_exit()
    scratch = lib.OUT_DIR / "work"
    scratch.mkdir(parents=True, exist_ok=True)
    ids = scratch / "scan_load_ids.txt"
    ids.write_text("".join(quote(i, safe="") + "\n" for i in lib.campaign_ids(args.data_dir)))
    env = {
        **os.environ,
        "DATABASE_URL": args.pg_url,
        "ANONYMOUS_TENANT": "default",
        "BENCHMARK_FIXTURES_FILE": str(args.data_dir / "benchmarks.json"),
        "SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    port = lib.free_port()
    serve = [lib.venv_tool("analytics"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = lib.Server("scan-load-api", [*serve, "--workers", str(args.workers)], port, env=env)
    with server:
        wrk(argparse.Namespace(**{**vars(args), "duration": 3}), server.base_url, ids)  # warm-up
        rows = interleaved(args, env, server.base_url, ids)
    report(args, rows)


def report(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    alone = [r["p99_ms"] for r in rows if r["kind"] == "alone"]
    scan = [r["p99_ms"] for r in rows if r["kind"] == "scan"]
    summary = {
        "p99_alone_ms": statistics.median(alone),
        "p99_with_scan_ms": statistics.median(scan) if scan else None,
        "settings": {k: str(v) for k, v in vars(args).items() if k != "pg_url"},
        "machine": {
            "cpus": os.cpu_count(),
            "git_commit": lib._git("rev-parse", "--short", "HEAD"),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "rows": rows,
    }
    if scan:
        summary["p99_increase_pct"] = round(
            100 * (summary["p99_with_scan_ms"] / summary["p99_alone_ms"] - 1), 1
        )
    lib.write_json(lib.OUT_DIR / "scan-load.json", summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("rows", "machine")}))


if __name__ == "__main__":
    main()
