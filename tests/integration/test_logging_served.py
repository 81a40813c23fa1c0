"""Every process logs through `analytics.logs` (here in LOG_FORMAT=text): one line format,
LOG_LEVEL honoured in worker processes too, no Alembic chatter, and nothing a client sends
can forge a line."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.served_process import analytics_script, clean_environment, served
from tests.support import DataDir

FORGED_ID = "x\r\nFORGED\x1b[31m\u2028\x85"
FORGED_PATH = f"/campaigns/{quote(FORGED_ID, safe='')}/anomalies"
ESCAPED_PATH = "/campaigns/x\\r\\nFORGED\\x1b[31m\\u2028\\x85/anomalies"
RAW_CONTROLS = ("\r", "\x1b", "\u2028", "\x85")
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
LINE = re.compile(rf"{TIME} (DEBUG|INFO|WARNING|ERROR) [\w.]+: .+")
UNAVAILABLE_LINE = re.compile(
    rf"{TIME} WARNING analytics\.api\.errors: GET {re.escape(ESCAPED_PATH)}: "
    "no benchmark source is configured"
)
SERVE = [analytics_script(), "serve", "--port", "{port}"]


def forged_data(root: Path) -> Path:
    """A campaign whose id holds CR, LF, ESC, U+2028 and NEL; no benchmark source, so its
    anomalies answer 502 and log the request path."""
    row = ("2026-01-01", FORGED_ID, "crt-1", 100, 10, 1, "10.00", "20.00")
    data = DataDir(campaigns=[(FORGED_ID, "Forged")], creators=[("crt-1", "Ann")], metrics=[row])
    return data.write(root)


def log_lines(stderr: str) -> list[str]:
    """Lines as a terminal or a log collector splits them: on LF only."""
    return stderr.split("\n")[:-1] if stderr.endswith("\n") else stderr.split("\n")


def levels(lines: list[str]) -> set[str]:
    matches = [LINE.fullmatch(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches, strict=True) if not match]
    return {match.group(1) for match in matches if match}


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def served_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `analytics serve` (one worker, LOG_LEVEL unset) wrote to stderr around one
    request for the forged path."""
    env = clean_environment(
        LOG_FORMAT="text", DATA_DIR=str(forged_data(tmp_path_factory.mktemp("forged")))
    )
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    with served(SERVE, env) as server:
        assert server.get(FORGED_PATH).status_code == 502
    return server.stderr


def test_a_forged_request_path_is_logged_escaped_on_one_line(served_log: str) -> None:
    matching = [line for line in log_lines(served_log) if UNAVAILABLE_LINE.fullmatch(line)]

    assert len(matching) == 1


def test_no_control_character_from_a_request_reaches_the_log(served_log: str) -> None:
    assert [c for c in RAW_CONTROLS if c in served_log] == []
    assert [line for line in log_lines(served_log) if line.startswith("FORGED")] == []


def test_every_served_line_has_the_configured_format_access_log_included(served_log: str) -> None:
    lines = log_lines(served_log)

    assert levels(lines) == {"INFO", "WARNING"}
    access = [line for line in lines if " INFO analytics.access: " in line and " 502 " in line]
    assert len(access) == 1
    assert ESCAPED_PATH in access[0]
    assert [line for line in lines if "uvicorn.access" in line] == []


@pytest.mark.parametrize("served_log", ["postgresql"], indirect=True)
def test_serve_on_postgresql_logs_no_alembic_line(served_log: str) -> None:
    assert [line for line in log_lines(served_log) if "alembic" in line] == []


def test_workers_log_in_the_configured_format(tmp_path: Path) -> None:
    env = clean_environment(
        LOG_FORMAT="text", DATA_DIR=str(forged_data(tmp_path / "data")), LOG_LEVEL="INFO"
    )
    started = re.compile(rf"^{TIME} INFO uvicorn\.error: Started server process \[(\d+)\]$", re.M)

    with served([*SERVE, "--workers", "2"], env) as server:
        server.wait_until(lambda: len(started.findall(server.stderr)) == 2, "two workers")

    workers = set(started.findall(server.stderr))
    assert len(workers) == 2
    assert str(server.pid) not in workers
    assert levels(log_lines(server.stderr)) == {"INFO"}


def test_workers_honour_log_level_warning(tmp_path: Path) -> None:
    env = clean_environment(
        LOG_FORMAT="text", DATA_DIR=str(forged_data(tmp_path / "data")), LOG_LEVEL="WARNING"
    )

    with served([*SERVE, "--workers", "2"], env) as server:
        for _ in range(4):
            assert server.get(FORGED_PATH).status_code == 502

    lines = log_lines(server.stderr)
    assert levels(lines) == {"WARNING"}
    assert len([line for line in lines if UNAVAILABLE_LINE.fullmatch(line)]) == 4


def test_a_bare_uvicorn_factory_run_logs_in_the_configured_format_and_level(
    tmp_path: Path,
) -> None:
    env = clean_environment(
        LOG_FORMAT="text", DATA_DIR=str(forged_data(tmp_path / "data")), LOG_LEVEL="WARNING"
    )
    command = [sys.executable, "-m", "uvicorn", "--factory", "analytics.api.app:create_app"]

    with served([*command, "--port", "{port}"], env) as server:
        assert server.get(FORGED_PATH).status_code == 502

    lines = log_lines(server.stderr)
    assert levels(lines) == {"WARNING"}
    assert len([line for line in lines if UNAVAILABLE_LINE.fullmatch(line)]) == 1
