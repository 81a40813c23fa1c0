"""Configuration from the environment (CONTRACT.md §2), validated at start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from analytics.domain.access import DEFAULT_TENANT, tenant_id_problem

_ORIGIN = re.compile(r"https?://[^/\s]+")
_RATE = re.compile(r"\s*([1-9][0-9]{0,8})\s*/\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)
WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}


def rate_limit(text: str) -> tuple[int, int]:
    """(requests, window seconds) of `600/minute`; ValueError naming the allowed form."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a rate like 600/minute (second, minute, hour, day)")
    return int(match[1]), WINDOW_SECONDS[match[2].lower()]


def _valid_rate(text: str) -> str:
    rate_limit(text)
    return text


RateLimitText = Annotated[str, AfterValidator(_valid_rate)]
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SUPPORTED_DATABASE_SCHEMES = ("duckdb:///", "postgresql+psycopg://", "postgresql://")


class ConfigurationError(Exception):
    """Invalid configuration; the message is one line per wrong variable."""


class Settings(BaseSettings):
    """Everything the service reads from the environment. Unknown variables are ignored."""

    # An empty variable means unset (`-e BENCHMARK_FIXTURES_FILE=` in Docker clears a default).
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    data_dir: Path | None = Field(default=None, description="data directory to load and serve")
    dataset_name: str | None = Field(default=None, description="name reported by /health")
    database_url: str | None = Field(default=None, description="unset: embedded DuckDB")
    database_request_timeout: float = Field(
        default=5.0, gt=0, le=300, description="seconds a request may wait for the database"
    )
    database_health_timeout: float = Field(
        default=1.0, gt=0, le=60, description="seconds /health waits for the database"
    )
    benchmark_api_base: AnyHttpUrl | None = None
    benchmark_fixtures_file: Path | None = None
    benchmark_connect_timeout: float = Field(default=0.5, gt=0)
    benchmark_read_timeout: float = Field(default=1.0, gt=0)
    benchmark_max_attempts: int = Field(default=4, ge=1, le=10)
    benchmark_time_budget: float = Field(default=3.0, gt=0, le=60)
    benchmark_health_timeout: float = Field(default=1.0, gt=0)
    anonymous_tenant: str | None = Field(
        default=None,
        description="tenant that requests without credentials read as viewer; '' turns it off",
    )
    log_level: str = Field(default="INFO", pattern=r"(?i)^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(
        default="auto", pattern=r"(?i)^(auto|json|text)$", description="auto: text on a TTY"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="comma-separated origins allowed to call the API from a browser"
    )

    # Scheduled work (CONTRACT.md §9; README "Scheduled jobs and alerts")
    scheduler_enabled: bool = Field(default=True, description="run the scheduler in serve")
    schedule_heartbeat: str = Field(default="0 */6 * * *", description="cron, UTC")
    schedule_anomaly_scan: str = Field(default="0 */6 * * *", description="cron, UTC")
    scheduler_poll_seconds: float = Field(default=60.0, gt=0, le=3600)
    scheduler_stale_run_seconds: float = Field(
        default=300.0, ge=2, le=86_400, description="a run not refreshed this long is abandoned"
    )
    scan_batch_size: int = Field(default=100, ge=1, le=10_000)
    scan_pause_factor: float = Field(
        default=3.0,
        ge=0,
        le=100,
        description="rest after each scan batch, in multiples of its duration",
    )
    baseline_weeks: int = Field(default=8, ge=1, le=52)
    baseline_min_history: int = Field(default=4, ge=1, le=52)
    baseline_min_impressions: int = Field(default=1000, ge=1)
    baseline_mad_multiplier: float = Field(default=3.5, gt=0)
    baseline_min_drop: float = Field(default=0.25, ge=0, lt=1)
    # Operations (README "Operations"): metrics off unless a port or a token is set
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Prometheus listener of `analytics serve`"
    )
    metrics_host: str = Field(default="127.0.0.1", min_length=1, description="its interface")
    metrics_token: SecretStr | None = Field(
        default=None, min_length=16, description="bearer token of GET /internal/metrics"
    )
    scheduler_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Prometheus listener of `analytics scheduler`"
    )
    otel_exporter_otlp_endpoint: AnyHttpUrl | None = Field(
        default=None, description="OTLP/HTTP collector; unset: no tracing at all"
    )
    otel_service_name: str = Field(default="campaign-analytics", min_length=1)
    cursor_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="key signing every page cursor; unset: a secret stored in the database",
    )

    # Result cache and rate limits (README "Caching and rate limits")
    redis_url: SecretStr | None = Field(
        default=None, description="redis://…: shared result cache and rate-limit counters"
    )
    redis_timeout: float = Field(
        default=0.1, gt=0, le=5, description="seconds any Redis call may take, connect included"
    )
    cache_enabled: bool = Field(default=True, description="the result cache of read endpoints")
    cache_max_entries: int = Field(default=10_000, ge=1, description="in-process cache bound")
    cache_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="in-process cache bound, in body bytes"
    )
    cache_ttl: float = Field(
        default=3600.0, gt=0, le=86_400 * 7, description="seconds an entry lives (safety net)"
    )
    rate_limits_enabled: bool = Field(default=True, description="per-key request limits")
    rate_limit_anonymous: RateLimitText = "300/minute"
    rate_limit_viewer: RateLimitText = "600/minute"
    rate_limit_editor: RateLimitText = "1200/minute"
    rate_limit_admin: RateLimitText = "1200/minute"

    @field_validator("schedule_heartbeat", "schedule_anomaly_scan")
    @classmethod
    def _cron_expression(cls, value: str) -> str:
        from analytics.adapters.scheduler import cron_trigger  # apscheduler, loaded on use

        cron_trigger(value)  # ValueError names what is wrong
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(origin.strip() for origin in value.split(",") if origin.strip())
        for origin in value if isinstance(value, tuple | list) else ():
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"'{origin}' is not an origin like https://app.example.com")
        return value

    @field_validator("anonymous_tenant")
    @classmethod
    def _valid_tenant(cls, value: str | None) -> str | None:
        if value and (problem := tenant_id_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"'{value}' is not a directory")
        return value

    @field_validator("benchmark_fixtures_file")
    @classmethod
    def _fixture_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"'{value}' is not a file")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(REDIS_SCHEMES):
            raise ValueError(f"a Redis URL starts with {', '.join(REDIS_SCHEMES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(SUPPORTED_DATABASE_SCHEMES):
            supported = ", ".join(f"{scheme}…" for scheme in SUPPORTED_DATABASE_SCHEMES)
            raise ValueError(f"unsupported database URL (supported: {supported})")
        if value is not None and value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _something_to_serve(self) -> Self:
        if self.data_dir is None and self.database_url is None:
            raise ValueError("DATA_DIR is required when DATABASE_URL is not set")
        return self

    @property
    def load_tenant(self) -> str:
        """The tenant DATA_DIR is loaded into: ANONYMOUS_TENANT when set, else `default`."""
        return self.anonymous_tenant or DEFAULT_TENANT

    @property
    def anonymous_access(self) -> str | None:
        """The tenant requests without credentials read, None when they get 401.

        ANONYMOUS_TENANT when set; ANONYMOUS_TENANT= (empty) turns anonymous access off;
        unset, it is the tenant DATA_DIR is loaded into (so Part I works as it did), and off
        when there is no DATA_DIR."""
        if self.anonymous_tenant is not None:
            return self.anonymous_tenant or None
        return self.load_tenant if self.data_dir is not None else None

    @property
    def dataset(self) -> str | None:
        """DATASET_NAME, else the last path segment of DATA_DIR (`data/visible` → `visible`);
        None when neither is set (the database's ledger then names the dataset)."""
        if self.dataset_name:
            return self.dataset_name
        if self.data_dir is not None:
            return self.data_dir.resolve().name
        return None


def load_settings() -> Settings:
    """Settings from the environment, or `ConfigurationError` naming each wrong variable.

    Empty variables mean unset, but for ANONYMOUS_TENANT, where empty turns anonymous
    access off (CONTRACT.md §6)."""
    explicit: dict[str, str] = {}
    if any(name.upper() == "ANONYMOUS_TENANT" and not value for name, value in os.environ.items()):
        explicit["anonymous_tenant"] = ""
    try:
        return Settings(**explicit)
    except ValidationError as error:
        raise ConfigurationError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    lines = []
    for detail in error.errors(include_url=False, include_input=False):
        variable = "_".join(str(part) for part in detail["loc"]).upper()
        message = detail["msg"].removeprefix("Value error, ")
        lines.append(f"{variable}: {message}" if variable else message)
    return "; ".join(lines)
