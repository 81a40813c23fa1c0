"""`GET /metrics` parameters (CONTRACT.md §8): one Pydantic model, every parameter documented
with what it allows; anything else is refused (422 naming the parameter)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from analytics.api.parameters import _plain_digits
from analytics.domain.explorer import (
    DEFAULT_LIMIT,
    DIMENSIONS,
    MAX_LIMIT,
    MAX_YEARS,
    MEASURES,
    MIN_LIMIT,
    PERIOD,
    ExplorerQuery,
)
from analytics.domain.identifiers import MAX_ID_LENGTH

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_FILTER_VALUES = 100
MAX_CURSOR_LENGTH = 4096


def _iso_date(value: Any) -> Any:
    """Dates are YYYY-MM-DD only (Pydantic would also read numbers and datetimes)."""
    if isinstance(value, str) and not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]


def _filter(dimension: str) -> Any:
    return Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description=f"only rows whose `{dimension}` is one of these (repeat the parameter for "
        f"several values, up to {MAX_FILTER_VALUES}; `unknown` matches rows without one)",
    )


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year + years, day=28)


class MetricsParameters(BaseModel):
    """The query string of `GET /metrics`."""

    model_config = ConfigDict(extra="forbid")

    date_from: IsoDate = Field(description="first day, YYYY-MM-DD (inclusive)")
    date_to: IsoDate = Field(
        description=f"last day, YYYY-MM-DD (inclusive): not before date_from, at most "
        f"{MAX_YEARS} years after it"
    )
    granularity: Literal["day", "week", "month", "total"] = Field(
        default="total",
        description="one row per day, ISO week (from Monday), month, or the whole range",
    )
    group_by: str = Field(
        default="",
        max_length=200,
        description=f"comma-separated keys to group by, any of: {_listed(DIMENSIONS)}",
    )
    campaign_id: list[FilterValue] = _filter("campaign_id")
    creator_id: list[FilterValue] = _filter("creator_id")
    platform: list[FilterValue] = _filter("platform")
    region: list[FilterValue] = _filter("region")
    device_type: list[FilterValue] = _filter("device_type")
    age_group: list[FilterValue] = _filter("age_group")
    gender: list[FilterValue] = _filter("gender")
    placement: list[FilterValue] = _filter("placement")
    sort: str | None = Field(
        default=None,
        max_length=40,
        description=f"a measure ({_listed(MEASURES)}), `period` or a group_by key; `-` first "
        "for descending. Default: period, then the group_by keys, ascending; ties are always "
        "broken by period and group keys ascending",
    )
    limit: Annotated[int, BeforeValidator(_plain_digits)] = Field(
        default=DEFAULT_LIMIT,
        ge=MIN_LIMIT,
        le=MAX_LIMIT,
        description=f"rows per page (from {MIN_LIMIT} to {MAX_LIMIT})",
    )
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page, with the same other parameters",
    )

    @field_validator("date_to")
    @classmethod
    def _within_range(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("date_from")
        if start is not None and value < start:
            raise ValueError("must not be before date_from")
        if start is not None and value > _years_later(start, MAX_YEARS):
            raise ValueError(f"must be at most {MAX_YEARS} years after date_from")
        return value

    @field_validator("group_by")
    @classmethod
    def _known_keys(cls, value: str) -> str:
        keys = value.split(",") if value else []
        for key in keys:
            if key not in DIMENSIONS:
                raise ValueError(f"unknown key {key[:40]!r}; allowed: {_listed(DIMENSIONS)}")
        if len(set(keys)) != len(keys):
            raise ValueError("a key appears more than once")
        return value

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        keys = info.data.get("group_by", "")
        allowed = [*MEASURES, *(keys.split(",") if keys else [])]
        if info.data.get("granularity", "total") != "total":
            allowed.append(PERIOD)
        if value.removeprefix("-") not in allowed:
            raise ValueError(
                f"unknown sort key {value[:40]!r}; allowed: {_listed(tuple(allowed))} "
                "(`-` first for descending)"
            )
        return value

    def query(self) -> ExplorerQuery:
        # A value with NUL can match nothing (loads refuse it; PostgreSQL cannot bind it).
        filters = tuple(
            (name, tuple(sorted({value for value in values if "\x00" not in value})))
            for name in DIMENSIONS
            if (values := getattr(self, name))
        )
        return ExplorerQuery(
            date_from=self.date_from,
            date_to=self.date_to,
            granularity=self.granularity,
            group_by=tuple(self.group_by.split(",")) if self.group_by else (),
            filters=filters,
            sort=self.sort,
        )


PARAMETERS = tuple(MetricsParameters.model_fields)
