"""Part I (CONTRACT.md §4) answers the same bytes whether or not the metrics file carries the
optional breakdown columns and likes of §8."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.conftest import ClientFactory
from tests.support import VISIBLE_DATA

OPTIONAL = "platform,region,device_type,age_group,gender,placement,likes"


def _with_breakdowns(source: Path, target: Path) -> Path:
    """The visible sample with every optional column filled in."""
    target.mkdir()
    for name in ("campaigns.csv", "creators.csv", "benchmarks.json"):
        (target / name).write_bytes((source / name).read_bytes())
    with (source / "campaign_daily_metrics.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    rows[0] += OPTIONAL.split(",")
    for index, row in enumerate(rows[1:]):
        row += ["ios" if index % 2 else "web", "EU", "mobile", "18-24", "f", "feed", str(index)]
    with (target / "campaign_daily_metrics.csv").open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return target


PART_ONE = [
    "/campaigns/cmp-001/performance",
    "/campaigns/cmp-002/anomalies",
    "/campaigns/cmp-005/anomalies",
    "/creators/top?campaign_id=cmp-004&limit=2",
    "/creators/top?campaign_id=cmp-001",
]


def test_part_one_answers_are_unchanged_by_the_columns(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    fixture = VISIBLE_DATA / "benchmarks.json"
    plain = make_client(VISIBLE_DATA, benchmark_fixtures_file=fixture)
    broken_down = make_client(
        _with_breakdowns(VISIBLE_DATA, tmp_path / "broken-down"),
        benchmark_fixtures_file=fixture,
        anonymous_tenant="broken-down",  # beside the plain one, on a shared database
    )
    for path in PART_ONE:
        assert broken_down.get(path).content == plain.get(path).content, path
