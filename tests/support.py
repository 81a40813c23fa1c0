"""Test helpers: data directories written from Python values, and app clients over them."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

METRIC_HEADER = (
    "metric_date",
    "campaign_id",
    "creator_id",
    "impressions",
    "clicks",
    "conversions",
    "spend",
    "revenue",
)
VISIBLE_DATA = Path(__file__).resolve().parents[1] / "data" / "visible"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@dataclass
class DataDir:
    """A data directory described in Python; `write(path)` lays it out as the contract says.

    Metric rows are tuples in METRIC_HEADER order; revenue None is written as an empty field.
    """

    campaigns: list[tuple[str, str]] = field(default_factory=list)
    creators: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[tuple[object, ...]] = field(default_factory=list)
    benchmarks: dict[str, dict[str, object]] | None = None

    def write(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        write_csv(path / "campaigns.csv", ("campaign_id", "campaign_name"), self.campaigns)
        write_csv(path / "creators.csv", ("creator_id", "creator_name"), self.creators)
        rows = [tuple("" if value is None else value for value in row) for row in self.metrics]
        write_csv(path / "campaign_daily_metrics.csv", METRIC_HEADER, rows)
        if self.benchmarks is not None:
            (path / "benchmarks.json").write_text(json.dumps(self.benchmarks), encoding="utf-8")
        return path
