"""An independent reference for `GET /metrics`: the answer computed in Python from the raw
metric rows of a data directory, with exact arithmetic (Fraction, Decimal)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
KEYS = ("campaign_id", "creator_id", *BREAKDOWNS)
COUNTS = ("impressions", "clicks", "conversions", "likes")
HEADER = (
    "metric_date",
    "campaign_id",
    "creator_id",
    "impressions",
    "clicks",
    "conversions",
    "spend",
    "revenue",
    *BREAKDOWNS,
    "likes",
)


@dataclass
class Dataset:
    """Campaigns, creators and metric rows (dicts keyed by HEADER; values as in the file)."""

    rows: list[dict[str, str]]
    campaigns: Sequence[str] = ("cmp-1", "cmp-10", "cmp-9", "cmp-ü")
    creators: Sequence[str] = ("crt-1", "crt-2", "Émile")
    header: Sequence[str] = HEADER
    extra: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        for name, ids in (("campaign", self.campaigns), ("creator", self.creators)):
            with (path / f"{name}s.csv").open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow((f"{name}_id", f"{name}_name"))
                writer.writerows((item, f"{item} name") for item in ids)
        with (path / "campaign_daily_metrics.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(self.header)
            writer.writerows([row.get(column, "") for column in self.header] for row in self.rows)
        return path


def _period(day: dt.date, granularity: str) -> dt.date | None:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.isoweekday() - 1)
    if granularity == "month":
        return day.replace(day=1)
    return None


def rate(numerator: Fraction, denominator: Fraction) -> Decimal:
    """numerator / denominator to 4 places, half away from zero (both >= 0); 0 on 0."""
    if denominator == 0:
        return Decimal(0)
    scaled = numerator / denominator * 10000
    return Decimal(int(scaled + Fraction(1, 2))) / 10000


def _value(row: Mapping[str, str], key: str) -> str:
    return row.get(key, "") or "unknown"


def _totals(rows: list[Mapping[str, str]]) -> dict[str, Any]:
    sums = {name: sum(int(row.get(name) or 0) for row in rows) for name in COUNTS}
    spend = sum((Decimal(row["spend"]) for row in rows), Decimal(0))
    revenue = sum((Decimal(row["revenue"] or 0) for row in rows), Decimal(0))
    fraction = {name: Fraction(value) for name, value in sums.items()}
    return {
        **sums,
        "spend": spend,
        "revenue": revenue,
        "ctr": rate(fraction["clicks"], fraction["impressions"]),
        "cvr": rate(fraction["conversions"], fraction["clicks"]),
        "roas": rate(Fraction(revenue), Fraction(spend)),
        "cpc": rate(Fraction(spend), fraction["clicks"]),
        "cpm": rate(1000 * Fraction(spend), fraction["impressions"]),
    }


def answer(rows: list[Mapping[str, str]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row of the answer to `params` (as sent: `group_by` comma-separated, filters as
    lists), in the contract's order, numbers as the JSON will hold them."""
    start, end = (
        dt.date.fromisoformat(params["date_from"]),
        dt.date.fromisoformat(params["date_to"]),
    )
    granularity = params.get("granularity", "total")
    group_by = [key for key in params.get("group_by", "").split(",") if key]
    groups: dict[tuple[Any, ...], list[Mapping[str, str]]] = {}
    for row in rows:
        day = dt.date.fromisoformat(row["metric_date"])
        if not start <= day <= end:
            continue
        if any(_value(row, key) not in params[key] for key in KEYS if params.get(key)):
            continue
        group = (_period(day, granularity), *(_value(row, key) for key in group_by))
        groups.setdefault(group, []).append(row)
    answers = []
    for (period, *keys), members in groups.items():
        head = {} if period is None else {"period": period.isoformat()}
        answers.append({**head, **dict(zip(group_by, keys, strict=True)), **_totals(members)})
    ties = (["period"] if granularity != "total" else []) + group_by
    answers.sort(key=lambda item: [item[name] for name in ties])
    if sort := params.get("sort"):
        name = sort.removeprefix("-")
        answers.sort(key=lambda item: item[name], reverse=sort.startswith("-"))
    return [_as_json(item) for item in answers]


def _as_json(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: float(value) if isinstance(value, Decimal) else value for name, value in item.items()
    }
