"""The other commands log through `analytics.logs` too: LOG_LEVEL, the line format, and
no Alembic chatter; running the migrations never reconfigures logging."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from sqlalchemy import create_engine

from analytics.adapters import migrations
from tests.conftest import new_postgres_database
from tests.integration.served_process import analytics_script, clean_environment
from tests.integration.test_logging_served import LINE, log_lines
from tests.support import VISIBLE_DATA


def load(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [analytics_script(), "load", str(VISIBLE_DATA), "--database-url", database_url]
    return subprocess.run(
        command, env=clean_environment(**env), capture_output=True, text=True, timeout=60
    )


def test_load_into_postgresql_logs_no_alembic_line_and_the_configured_format() -> None:
    url, drop = new_postgres_database()
    try:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        result = load(url, LOG_FORMAT="text")
    finally:
        drop()

    assert result.returncode == 0, result.stderr
    lines = log_lines(result.stderr)
    assert [line for line in lines if "alembic" in line] == []
    assert [line for line in lines if not LINE.fullmatch(line)] == []
    assert any(" INFO analytics.adapters.dataset_loader: " in line for line in lines)


def test_load_honours_log_level(tmp_path: Path) -> None:
    result = load(f"duckdb:///{tmp_path / 'analytics.duckdb'}", LOG_LEVEL="WARNING")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_load_refuses_an_unknown_log_level(tmp_path: Path) -> None:
    result = load(f"duckdb:///{tmp_path / 'analytics.duckdb'}", LOG_LEVEL="LOUD")

    assert result.returncode == 2
    assert result.stderr == (
        "configuration error: LOG_LEVEL: unknown log level 'LOUD' "
        "(expected one of DEBUG, INFO, WARNING, ERROR)\n"
    )
    assert not (tmp_path / "analytics.duckdb").exists()


def logging_state() -> dict[str, tuple[object, ...]]:
    """Level, handlers, propagation and disabled flag of the root and every logger."""
    loggers = {"": logging.getLogger(), **logging.Logger.manager.loggerDict}
    return {
        name: (logger.level, tuple(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in loggers.items()
        if isinstance(logger, logging.Logger)
    }


def test_running_the_migrations_leaves_the_logging_configuration_alone() -> None:
    url, drop = new_postgres_database()
    before = logging_state()
    try:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
    finally:
        drop()

    after = logging_state()
    assert {name: after[name] for name in before} == before
