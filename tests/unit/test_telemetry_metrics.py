"""`analytics.telemetry`: the recording functions others call, the dataset ages computed
at scrape time, and choosing the multi-process mode."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from analytics.telemetry import metrics
from analytics.telemetry.exposition import DatasetAges, use_multiprocess_directory

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("result", ["hit", "miss", "error", "bypass"])
def test_a_cache_lookup_is_counted_by_result(result: str) -> None:
    before = sample("analytics_cache_lookups_total", result=result)

    metrics.record_cache(result)

    assert sample("analytics_cache_lookups_total", result=result) - before == 1


@pytest.mark.parametrize("role", ["anonymous", "viewer", "editor", "admin"])
def test_a_rate_limit_rejection_is_counted_by_role(role: str) -> None:
    before = sample("analytics_rate_limited_total", role=role)

    metrics.record_rate_limited(role)

    assert sample("analytics_rate_limited_total", role=role) - before == 1


def test_label_values_outside_the_closed_sets_are_refused() -> None:
    with pytest.raises(ValueError, match="cache result 'stale' is not one of"):
        metrics.record_cache("stale")
    with pytest.raises(ValueError, match="role 'owner' is not one of"):
        metrics.record_rate_limited("owner")


def test_a_published_load_adds_rows_and_duration_an_unchanged_one_only_counts() -> None:
    rows, durations = (
        "analytics_dataset_load_rows_total",
        "analytics_dataset_load_duration_seconds_count",
    )
    before = (
        sample(rows),
        sample(durations),
        sample("analytics_dataset_loads_total", outcome="unchanged"),
    )

    metrics.record_dataset_load("published", rows=120, seconds=2.5)
    metrics.record_dataset_load("unchanged")

    after = (
        sample(rows),
        sample(durations),
        sample("analytics_dataset_loads_total", outcome="unchanged"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [120, 1, 1]


def scraped(collector: DatasetAges) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def test_dataset_ages_are_seconds_since_each_tenants_load() -> None:
    loads = {"beta": NOW - dt.timedelta(hours=2), "acme": NOW - dt.timedelta(seconds=30)}

    text = scraped(DatasetAges(lambda: loads, clock=lambda: NOW))

    assert 'analytics_dataset_age_seconds{tenant="acme"} 30.0' in text
    assert 'analytics_dataset_age_seconds{tenant="beta"} 7200.0' in text
    assert "analytics_dataset_ledger_up 1.0" in text


def test_an_unreadable_ledger_is_ledger_up_zero_not_a_failed_scrape() -> None:
    def broken() -> dict[str, dt.datetime]:
        raise ConnectionError("database down")

    text = scraped(DatasetAges(broken, clock=lambda: NOW))

    assert "analytics_dataset_ledger_up 0.0" in text
    assert "analytics_dataset_age_seconds{" not in text


def test_the_multiprocess_mode_is_refused_once_metrics_exist() -> None:
    metrics.instruments()

    with pytest.raises(RuntimeError, match="before the multi-process mode was chosen"):
        use_multiprocess_directory()


MULTIPROCESS = """
import os, sys
from analytics.telemetry import exposition, metrics
directory = exposition.use_multiprocess_directory()
metrics.record_cache("hit")
files = {p.name.split("_")[0] for p in directory.path.glob("*.db")}
text = exposition.render(exposition.scrape_registry()).decode()
print("counter" in files, 'analytics_cache_lookups_total{result="hit"} 1.0' in text)
directory.remove()
print(directory.path.exists(), os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory.path))
"""


def test_the_multiprocess_mode_writes_samples_to_its_directory_and_removes_it() -> None:
    done = subprocess.run(  # a process of its own: the mode is chosen once per process
        [sys.executable, "-c", MULTIPROCESS], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True True", "False True"]
