"""Shared helpers of the benchmark scripts: processes, servers, PostgreSQL, results.

Every benchmark runs the thing it measures as a child process. Nothing here talks to any
address but 127.0.0.1, and only databases named `bench_…` are ever created or dropped.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
SQL_DIR = ROOT / "sql"
METRICS_FILE = "campaign_daily_metrics.csv"
CAMPAIGNS_FILE = "campaigns.csv"
MANIFEST_FILE = "generator-manifest.json"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DB_PREFIX = "bench_"
PR_SET_PDEATHSIG = 1
LOG_DIR = OUT_DIR / "logs"  # children's output; the scripts point it under their --out-dir


# --------------------------------------------------------------------------- tools


def venv_tool(name: str) -> str:
    """A console script of the interpreter running us (the project's venv), else PATH's."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find `{name}`: run with the project's .venv/bin/python")
    return found


def pg_tool(name: str) -> str:
    """A PostgreSQL client program (psql, pgbench), from PATH or the server's bin directory."""
    candidate = PG_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find `{name}` (PostgreSQL client tools)")
    return found


def require_tool(name: str, hint: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find `{name}`: {hint}")
    return found


# --------------------------------------------------------------------------- data dirs


def scale_label(rows: int) -> str:
    """20_000_000 → '20M', 1_500_000 → '1.5M', 2_000 → '2k'."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size:
            return f"{rows / size:g}{unit}"
    return str(rows)


def count_metric_rows(data_dir: Path) -> int:
    """Rows of the metrics file: the generator's manifest, else its newlines (no header)."""
    manifest = data_dir / MANIFEST_FILE
    if manifest.is_file():
        return int(json.loads(manifest.read_text())["rows"])
    lines, last = 0, b"\n"
    with (data_dir / METRICS_FILE).open("rb") as data:
        while block := data.read(1 << 24):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def campaign_ids(data_dir: Path) -> list[str]:
    """The ids of campaigns.csv, in file order."""
    import csv

    with (data_dir / CAMPAIGNS_FILE).open(newline="", encoding="utf-8") as source:
        return [row["campaign_id"] for row in csv.DictReader(source)]


# --------------------------------------------------------------------------- processes


@dataclass
class Measured:
    """What running one child process cost."""

    command: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float  # largest single process of the tree (wait4's ru_maxrss)
    peak_tree_rss_mb: float  # sum over the process tree, polled every 50 ms
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 15) -> str:
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])


def tree_rss(root: Any) -> int:
    import psutil

    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    log_path: Path | None = None,
) -> Measured:
    """Run a child to completion: wall time, peak RSS (exact and tree-polled), its output."""
    import psutil

    log_path = log_path or LOG_DIR / f"run-{os.getpid()}-{time.monotonic_ns()}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_path.with_suffix(".out"), log_path.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=err,
            env=dict(env or os.environ),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        watched = psutil.Process(process.pid)
        peak_tree, timed_out, status, usage = 0, False, 0, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, tree_rss(watched))
            if timeout is not None and time.perf_counter() - started > timeout:
                timed_out = True
                _kill_group(process.pid)
            time.sleep(0.05)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss / 1024 if usage else 0.0
    return Measured(
        command=list(command),
        returncode=process.returncode,
        wall_s=wall,
        peak_rss_mb=round(peak, 1),
        peak_tree_rss_mb=round(max(peak_tree / 2**20, peak), 1),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        timed_out=timed_out,
    )


def flags(options: Mapping[str, object]) -> list[str]:
    """{"-c": 16, "-T": 10} → ["-c", "16", "-T", "10"]."""
    return [str(part) for pair in options.items() for part in pair]


def run_checked(command: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """Run a preparation step; stop with its output if it fails."""
    done = subprocess.run(
        list(command), env=dict(env or os.environ), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}{done.stdout}"
        )
    return done.stdout


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM if the benchmark script dies, even by
    SIGKILL, so that no server outlives it."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of a child we started with start_new_session=True."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def install_signal_exit() -> None:
    """SIGTERM/SIGHUP raise SystemExit, so that `finally` blocks stop servers and drop DBs."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET on loopback only; (status, body), status 0 when nothing answered."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing non-loopback URL {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


@dataclass
class Server:
    """A server child process on 127.0.0.1, in its own process group."""

    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    ready_path: str = "/health"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        self.log_path = LOG_DIR / f"{self.name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None or self.failed_to_configure():
                self.stop()
                raise RuntimeError(f"{self.name} failed at start-up:\n{self.log_tail()}")
            status, _ = http_get(self.base_url + self.ready_path, timeout=2)
            if 200 <= status < 300:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        _kill_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def failed_to_configure(self) -> bool:
        """A worker refused its configuration (uvicorn's parent would restart it forever)."""
        log = self.log_path.read_bytes() if self.log_path and self.log_path.exists() else b""
        return b"configuration error" in log

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- PostgreSQL


def check_bench_name(name: str) -> str:
    if not re.fullmatch(rf"{DB_PREFIX}[a-z0-9_]+", name):
        raise ValueError(f"benchmark database names are {DB_PREFIX}[a-z0-9_]+, not {name!r}")
    return name


def db_name(*parts: str) -> str:
    """bench_<parts>, lower-case, [a-z0-9_] only."""
    raw = "_".join(["bench", *parts]).lower()
    return check_bench_name(re.sub(r"[^a-z0-9_]", "_", raw))


def libpq_url(database: str, server: str = PG_SERVER) -> str:
    return f"{server}/{database}"


def sqlalchemy_url(database: str, server: str = PG_SERVER) -> str:
    return libpq_url(database, server).replace("postgresql://", "postgresql+psycopg://", 1)


def _admin(server: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url("postgres", server), autocommit=True) as connection:
        connection.execute(statement)


def create_database(name: str, server: str = PG_SERVER) -> None:
    """A fresh, empty database (dropped first if it exists)."""
    drop_database(name, server)
    _admin(server, f'CREATE DATABASE "{check_bench_name(name)}"')


def drop_database(name: str, server: str = PG_SERVER) -> None:
    _admin(server, f'DROP DATABASE IF EXISTS "{check_bench_name(name)}" WITH (FORCE)')


def database_exists(name: str, server: str = PG_SERVER) -> bool:
    import psycopg

    with psycopg.connect(libpq_url("postgres", server), autocommit=True) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return row.fetchone() is not None


def pg_version(server: str = PG_SERVER) -> str:
    import psycopg

    with psycopg.connect(libpq_url("postgres", server), autocommit=True) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])


@contextlib.contextmanager
def temporary_database(name: str, *, keep: bool = False, server: str = PG_SERVER) -> Iterator[str]:
    create_database(name, server)
    try:
        yield name
    finally:
        if not keep:
            drop_database(name, server)


# --------------------------------------------------------------------------- results


def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "src", "sql", "migrations")),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numbers right-aligned."""

    def cell(value: Any) -> str:
        return "-" if value is None else str(value)

    def numeric(column: int) -> bool:
        values = [row[column] for row in rows if row[column] is not None]
        return bool(values) and all(isinstance(value, int | float) for value in values)

    aligns = ["---:" if numeric(i) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 0) -> float | int | None:
    """Rounded for a table (None stays None)."""
    if value is None:
        return None
    return round(value) if digits == 0 else round(value, digits)


def sig(value: float | None, digits: int = 3) -> float | None:
    """`digits` significant digits: 0.0573, 12.3, 457.0."""
    return None if value is None else float(f"{value:.{digits}g}")


def percentile(samples: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
