"""DATABASE_REQUEST_TIMEOUT and DATABASE_HEALTH_TIMEOUT: defaults, and refused values."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.adapters.sql_repository import StoreDeadlines
from analytics.settings import ConfigurationError, load_settings


def test_database_timeouts_default_to_the_repository_deadlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert (settings.database_request_timeout, settings.database_health_timeout) == (5.0, 1.0)
    assert StoreDeadlines() == StoreDeadlines(request=5.0, health=1.0)


def test_database_timeouts_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_REQUEST_TIMEOUT", "2.5")
    monkeypatch.setenv("DATABASE_HEALTH_TIMEOUT", "0.25")
    settings = load_settings()
    assert (settings.database_request_timeout, settings.database_health_timeout) == (2.5, 0.25)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_REQUEST_TIMEOUT", "0", "Input should be greater than 0"),
        ("DATABASE_REQUEST_TIMEOUT", "301", "Input should be less than or equal to 300"),
        ("DATABASE_REQUEST_TIMEOUT", "soon", "Input should be a valid number"),
        ("DATABASE_HEALTH_TIMEOUT", "-1", "Input should be greater than 0"),
        ("DATABASE_HEALTH_TIMEOUT", "61", "Input should be less than or equal to 60"),
    ],
)
def test_a_wrong_database_timeout_is_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{variable}: {message}")
