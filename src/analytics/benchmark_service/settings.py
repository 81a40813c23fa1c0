"""The benchmark service's configuration, from `BENCHMARKS_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///benchmarks.db"
MIN_TOKEN_CHARACTERS = 16
SUPPORTED_SCHEMES = ("sqlite:///", "postgresql+psycopg://", "postgresql://")


class ConfigurationError(Exception):
    """Invalid configuration: one line naming each wrong variable and why."""


class BenchmarkSettings(BaseSettings):
    """`BENCHMARKS_DATABASE_URL`, `BENCHMARKS_OPERATOR_TOKEN`. Unknown variables are ignored;
    an empty variable means unset."""

    model_config = SettingsConfigDict(
        env_prefix="BENCHMARKS_",
        frozen=True,
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///relative/or////absolute/path.db, or postgresql+psycopg://…",
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="bearer token of PUT and DELETE; unset: writes are refused (403)",
    )

    @field_validator("operator_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_CHARACTERS:
            raise ValueError(f"must be at least {MIN_TOKEN_CHARACTERS} characters")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_SCHEMES):
            supported = ", ".join(f"{scheme}…" for scheme in SUPPORTED_SCHEMES)
            raise ValueError(f"unsupported database URL (supported: {supported})")
        if value == "sqlite:///" or value.startswith("sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database would not outlive one connection")
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


def load_settings(**overrides: object) -> BenchmarkSettings:
    """The environment's settings (`overrides` win), or ConfigurationError naming each
    wrong variable and why, on one line."""
    try:
        return BenchmarkSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "settings"
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"BENCHMARKS_{field.upper()}: {message}")
        raise ConfigurationError("; ".join(lines)) from None
