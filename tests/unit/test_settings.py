"""Configuration from the environment: defaults, and one clear line per wrong variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import ConfigurationError, Settings, load_settings


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
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_TIMEOUT", "0"),
        ("RATE_LIMIT_VIEWER", "600 per minute"),
        ("CACHE_MAX_ENTRIES", "0"),
        ("LOG_FORMAT", "xml"),
        ("METRICS_PORT", "0"),
        ("METRICS_PORT", "70000"),
        ("METRICS_TOKEN", "short"),
        ("SCHEDULER_METRICS_PORT", "http"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
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


OPTIONAL_DEFAULTS = {
    "DATASET_NAME": None,
    "DATABASE_REQUEST_TIMEOUT": 5.0,
    "DATABASE_HEALTH_TIMEOUT": 1.0,
    "BENCHMARK_API_BASE": None,
    "BENCHMARK_FIXTURES_FILE": None,
    "BENCHMARK_CONNECT_TIMEOUT": 0.5,
    "BENCHMARK_READ_TIMEOUT": 1.0,
    "BENCHMARK_MAX_ATTEMPTS": 4,
    "BENCHMARK_TIME_BUDGET": 3.0,
    "BENCHMARK_HEALTH_TIMEOUT": 1.0,
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "auto",
    "METRICS_PORT": None,
    "METRICS_HOST": "127.0.0.1",
    "METRICS_TOKEN": None,
    "SCHEDULER_METRICS_PORT": None,
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_SERVICE_NAME": "campaign-analytics",
    "CORS_ORIGINS": (),
    "SCHEDULER_ENABLED": True,
    "SCHEDULE_HEARTBEAT": "0 */6 * * *",
    "SCHEDULE_ANOMALY_SCAN": "0 */6 * * *",
    "SCHEDULER_POLL_SECONDS": 60.0,
    "SCHEDULER_STALE_RUN_SECONDS": 300.0,
    "SCAN_BATCH_SIZE": 100,
    "SCAN_PAUSE_FACTOR": 3.0,
    "BASELINE_WEEKS": 8,
    "BASELINE_MIN_HISTORY": 4,
    "BASELINE_MIN_IMPRESSIONS": 1000,
    "BASELINE_MAD_MULTIPLIER": 3.5,
    "BASELINE_MIN_DROP": 0.25,
    "CURSOR_SECRET": None,
    "REDIS_URL": None,
    "REDIS_TIMEOUT": 0.1,
    "CACHE_ENABLED": True,
    "CACHE_MAX_ENTRIES": 10_000,
    "CACHE_MAX_BYTES": 64 * 1024 * 1024,
    "CACHE_TTL": 3600.0,
    "RATE_LIMITS_ENABLED": True,
    "RATE_LIMIT_ANONYMOUS": "300/minute",
    "RATE_LIMIT_VIEWER": "600/minute",
    "RATE_LIMIT_EDITOR": "1200/minute",
    "RATE_LIMIT_ADMIN": "1200/minute",
}


@pytest.mark.parametrize("variable", sorted(OPTIONAL_DEFAULTS))
def test_an_empty_optional_variable_means_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, "")
    assert getattr(load_settings(), variable.lower()) == OPTIONAL_DEFAULTS[variable]


def test_every_optional_setting_is_covered_by_the_empty_variable_test() -> None:
    required_one_of = {"DATA_DIR", "DATABASE_URL"}
    empty_means_off = {"ANONYMOUS_TENANT"}  # CONTRACT.md §6; tested below
    optional = {name.upper() for name in Settings.model_fields} - required_one_of - empty_means_off
    assert optional == set(OPTIONAL_DEFAULTS)


def test_an_empty_database_url_means_the_embedded_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "")
    assert load_settings().database_url is None


def test_an_empty_data_dir_with_a_database_url_serves_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/analytics")
    monkeypatch.setenv("DATA_DIR", "")
    assert load_settings().data_dir is None


def test_the_readme_docker_example_points_at_a_benchmark_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-e BENCHMARK_FIXTURES_FILE= -e BENCHMARK_API_BASE=…` over an image whose default sets
    the fixture file: thresholds then come from the service alone."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BENCHMARK_FIXTURES_FILE", "")
    monkeypatch.setenv("BENCHMARK_API_BASE", "http://benchmarks:9000")
    settings = load_settings()
    assert settings.benchmark_fixtures_file is None
    assert str(settings.benchmark_api_base) == "http://benchmarks:9000/"


def test_cors_origins_are_comma_separated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example.com, http://localhost:3000")
    assert load_settings().cors_origins == ("https://a.example.com", "http://localhost:3000")


def test_a_malformed_cors_origin_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CORS_ORIGINS", "a.example.com/path")
    with pytest.raises(ConfigurationError, match=r"^CORS_ORIGINS: .*is not an origin"):
        load_settings()


def test_data_dir_is_served_anonymously_from_tenant_default_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert (settings.load_tenant, settings.anonymous_access) == ("default", "default")


def test_anonymous_tenant_names_where_data_dir_goes_and_who_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANONYMOUS_TENANT", "acme")
    settings = load_settings()
    assert (settings.load_tenant, settings.anonymous_access) == ("acme", "acme")


def test_an_empty_anonymous_tenant_turns_anonymous_access_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANONYMOUS_TENANT", "")
    settings = load_settings()
    assert (settings.load_tenant, settings.anonymous_access) == ("default", None)


def test_without_data_dir_anonymous_access_is_off_unless_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/analytics")
    assert load_settings().anonymous_access is None
    monkeypatch.setenv("ANONYMOUS_TENANT", "default")
    assert load_settings().anonymous_access == "default"


@pytest.mark.parametrize("tenant", ["Acme", "-x", "a b", "a" * 64])
def test_an_invalid_anonymous_tenant_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenant: str
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANONYMOUS_TENANT", tenant)
    with pytest.raises(ConfigurationError, match=r"^ANONYMOUS_TENANT: a tenant id is"):
        load_settings()


def test_a_schedule_that_is_not_a_cron_expression_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCHEDULE_ANOMALY_SCAN", "every six hours")
    with pytest.raises(ConfigurationError, match=r"^SCHEDULE_ANOMALY_SCAN: 'every six hours'"):
        load_settings()
