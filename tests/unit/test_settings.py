"""Configuration from the environment: defaults, and one clear line per wrong variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import ConfigurationError, load_settings


def test_dataset_name_defaults_to_the_last_segment_of_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "visible").mkdir()
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "visible"))
    assert load_settings().dataset == "visible"


def test_dataset_name_can_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATASET_NAME", "spring-drop")
    assert load_settings().dataset == "spring-drop"


def test_data_dir_is_required_with_the_embedded_engine() -> None:
    with pytest.raises(ConfigurationError, match="DATA_DIR is required"):
        load_settings()


def test_missing_data_dir_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigurationError, match=r"^DATA_DIR: .*is not a directory"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BENCHMARK_API_BASE", "not a url"),
        ("BENCHMARK_FIXTURES_FILE", "/nonexistent/benchmarks.json"),
        ("DATABASE_URL", "mysql://somewhere/db"),
        ("BENCHMARK_TIME_BUDGET", "-1"),
        ("BENCHMARK_MAX_ATTEMPTS", "many"),
    ],
)
def test_invalid_variable_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
