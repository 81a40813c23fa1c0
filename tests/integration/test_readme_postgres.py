"""README.md's "On PostgreSQL" block, run as written: each line as a real process, in order.

The block is read from README.md itself, so the two cannot drift apart. Two substitutions
only: the database is a fresh one from the test server (the `createdb` line is checked to
name the database of the `export` line, then skipped), and `serve` gets a free port.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import new_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SECTION = "### On PostgreSQL (or a DuckDB file)"
VENV_BIN = Path(sys.executable).parent


def readme_commands() -> list[list[str]]:
    """The lines of the first ```sh block after SECTION, as argument lists (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(SECTION, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [words for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _split_assignments(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """`A=1 B=2 cmd args` → ({A: 1, B: 2}, [cmd, args])."""
    assignments = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        name, value = words[0].split("=", 1)
        assignments[name] = value
        words = words[1:]
    return assignments, words


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url, drop = new_postgres_database("analytics_readme")
    yield url
    drop()


def _wait_for_health(base: str, server: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            return httpx.get(f"{base}/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer within 60 s")


def _serve_and_check(command: list[str], env: dict[str, str]) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        health = _wait_for_health(base, server)
        anomalies = httpx.get(f"{base}/campaigns/cmp-002/anomalies", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert health.json() == {
        "status": "ok",
        "database": "ok",
        "benchmark_service": "fixture",
        "dataset": "visible",
    }
    assert anomalies.status_code == 200, anomalies.text
    assert anomalies.json()["thresholds"] == {"min_ctr": 0.03, "min_roas": 2.5}


def test_readme_postgres_block_runs_verbatim(fresh_database: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA", "BENCHMARK_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    ran, createdb = [], []
    for words in readme_commands():
        assignments, command = _split_assignments(words)
        if command[:2] == ["make", "install"]:
            assert "\ninstall:" in (ROOT / "Makefile").read_text(encoding="utf-8")
        elif command == [".", ".venv/bin/activate"]:
            assert (VENV_BIN / "activate").is_file()
        elif command[0] == "createdb":
            createdb = command
        elif command[0] == "export":
            name, documented = command[1].split("=", 1)
            assert name == "DATABASE_URL"
            url = make_url(documented)
            assert createdb == ["createdb", "-h", url.host, "-U", url.username, url.database]
            env["DATABASE_URL"] = fresh_database
        elif command[:2] == ["analytics", "serve"]:
            _serve_and_check([str(VENV_BIN / "analytics"), *command[1:]], {**env, **assignments})
        elif command[0] == "analytics":
            done = subprocess.run(
                [str(VENV_BIN / "analytics"), *command[1:]],
                cwd=ROOT,
                env={**env, **assignments},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{shlex.join(words)}: {done.stderr}"
            assert "Traceback" not in done.stderr
        else:
            pytest.fail(f"README command the test does not know how to run: {shlex.join(words)}")
        ran.append(command[1] if command[0] == "analytics" else command[0])
    assert ran == ["make", ".", "createdb", "export", "migrate", "load", "datasets", "serve"]
