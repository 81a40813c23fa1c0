"""Every Prometheus metric of the service, and one small function per thing worth counting.

The metric objects are made on first use, not at import: `analytics serve` chooses the
multi-process mode (`exposition.use_multiprocess_directory`) before anything is recorded.
Label values come from closed sets (route templates, status codes, job names, outcome
words), never from what a client sends; README "Operations" lists every metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

PREFIX = "analytics"
CACHE_RESULTS = frozenset({"hit", "miss", "error", "bypass"})
RATE_LIMITED_ROLES = frozenset({"anonymous", "viewer", "editor", "admin"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
LOAD_BUCKETS = (0.5, 1, 5, 15, 60, 180, 600, 1800, 3600)


@dataclass(frozen=True, slots=True)
class Instruments:
    requests: Counter
    request_seconds: Histogram
    in_flight: Gauge
    pool_checked_out: Gauge
    pool_size: Gauge
    benchmark_calls: Counter
    cache_lookups: Counter
    rate_limited: Counter
    job_runs: Counter
    job_seconds: Histogram
    loads: Counter
    load_rows: Counter
    load_seconds: Histogram


@cache
def instruments() -> Instruments:
    """The metrics, registered once per process in prometheus-client's default registry.
    No `_created` series: the multi-process mode has none either."""
    disable_created_metrics()
    return Instruments(
        requests=Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
        ),
        request_seconds=Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status code",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
        ),
        in_flight=Gauge(
            f"{PREFIX}_http_requests_in_flight",
            "HTTP requests being answered now (all workers)",
            multiprocess_mode="livesum",
        ),
        pool_checked_out=Gauge(
            f"{PREFIX}_db_pool_checked_out",
            "Database connections in use from the serving pools (all workers)",
            multiprocess_mode="livesum",
        ),
        pool_size=Gauge(
            f"{PREFIX}_db_pool_size",
            "Connections the serving pools keep (all workers)",
            multiprocess_mode="livesum",
        ),
        benchmark_calls=Counter(
            f"{PREFIX}_benchmark_calls",
            "Benchmark-service HTTP attempts, by outcome and attempt number (1 = first try)",
            ["outcome", "attempt"],
        ),
        cache_lookups=Counter(
            f"{PREFIX}_cache_lookups",
            "Result-cache lookups, by result: hit, miss, error (cache unreachable), bypass",
            ["result"],
        ),
        rate_limited=Counter(
            f"{PREFIX}_rate_limited",
            "Requests refused with 429 by the rate limits, by the caller's role",
            ["role"],
        ),
        job_runs=Counter(
            f"{PREFIX}_job_runs",
            "Scheduled job runs finished, by job and status",
            ["job", "status"],
        ),
        job_seconds=Histogram(
            f"{PREFIX}_job_duration_seconds",
            "Duration of scheduled job runs, by job and status",
            ["job", "status"],
            buckets=JOB_BUCKETS,
        ),
        loads=Counter(
            f"{PREFIX}_dataset_loads",
            "Dataset loads, by outcome: published, unchanged, refused, failed",
            ["outcome"],
        ),
        load_rows=Counter(f"{PREFIX}_dataset_load_rows", "Metric rows published by loads"),
        load_seconds=Histogram(
            f"{PREFIX}_dataset_load_duration_seconds",
            "Duration of published loads",
            buckets=LOAD_BUCKETS,
        ),
    )


def record_cache(result: str) -> None:
    """One result-cache lookup: `hit`, `miss`, `error` or `bypass`."""
    if result not in CACHE_RESULTS:
        raise ValueError(f"cache result {result!r} is not one of {sorted(CACHE_RESULTS)}")
    instruments().cache_lookups.labels(result).inc()


def record_rate_limited(role: str) -> None:
    """One request refused by a rate limit; `role` is the caller's role or `anonymous`."""
    if role not in RATE_LIMITED_ROLES:
        raise ValueError(f"role {role!r} is not one of {sorted(RATE_LIMITED_ROLES)}")
    instruments().rate_limited.labels(role).inc()


def record_benchmark_call(outcome: str, attempt: int) -> None:
    """One HTTP attempt at the benchmark service (`attempt` counts from 1)."""
    instruments().benchmark_calls.labels(outcome, str(attempt)).inc()


def record_job_run(job: str, status: str, seconds: float) -> None:
    metrics = instruments()
    metrics.job_runs.labels(job, status).inc()
    metrics.job_seconds.labels(job, status).observe(seconds)


def record_dataset_load(outcome: str, *, rows: int = 0, seconds: float | None = None) -> None:
    """A load's outcome; a published one also adds its rows and duration."""
    metrics = instruments()
    metrics.loads.labels(outcome).inc()
    if outcome == "published":
        metrics.load_rows.inc(rows)
        if seconds is not None:
            metrics.load_seconds.observe(seconds)
