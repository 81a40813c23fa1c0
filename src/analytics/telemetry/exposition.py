"""Reading the metrics: the multi-process directory of `analytics serve`, the scrape
registry (all workers' metrics plus the dataset ages computed at scrape time) and the
listener on METRICS_PORT.

Under `--workers N` every worker writes its samples to memory-mapped files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multi-process mode); a scrape, served by
whichever process, merges the files of every worker, living or gone.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server

from analytics.telemetry.metrics import instruments

log = logging.getLogger(__name__)
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LoadTimes = Callable[[], Mapping[str, dt.datetime]]  # tenant id → when its dataset was loaded


@dataclass(frozen=True, slots=True)
class MultiprocessDirectory:
    path: Path
    owned: bool  # made here, so removed here

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


def use_multiprocess_directory() -> MultiprocessDirectory:
    """Turn on multi-process mode for this process and the workers it starts: the
    operator's PROMETHEUS_MULTIPROC_DIR (its old samples deleted) or a new temporary
    directory, removed by `remove()`. Must run before any metric is recorded."""
    if instruments.cache_info().currsize:
        raise RuntimeError("metrics were recorded before the multi-process mode was chosen")
    configured = os.environ.get(MULTIPROC_VARIABLE)
    if configured:
        directory = MultiprocessDirectory(Path(configured), owned=False)
        directory.path.mkdir(parents=True, exist_ok=True)
        for stale in directory.path.glob("*.db"):
            stale.unlink()
    else:
        directory = MultiprocessDirectory(Path(tempfile.mkdtemp(prefix="analytics-metrics-")), True)
    os.environ[MULTIPROC_VARIABLE] = str(directory.path)
    values.ValueClass = values.get_value_class()  # prometheus-client chose at its import
    return directory


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_VARIABLE))


def process_exiting() -> None:
    """This process's live gauges (in-flight requests, pool use) stop counting; its
    counters and histograms stay in the sums."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())


class _ThisProcess:
    """The default registry's metrics (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class DatasetAges:
    """`analytics_dataset_age_seconds{tenant}`: seconds since each tenant's current dataset
    was loaded, read from the load ledger at each scrape (tenant ids only, nothing else of
    the ledger), and `analytics_dataset_ledger_up` (0 when the ledger could not be read)."""

    def __init__(self, load_times: LoadTimes, clock: Callable[[], dt.datetime] | None = None):
        self._load_times = load_times
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "analytics_dataset_ledger_up", "1 when the load ledger was read at this scrape"
        )
        try:
            loaded = self._load_times()
        except Exception as error:  # a scrape never fails for the ledger
            log.warning("dataset ages not read from the load ledger: %r", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        ages = GaugeMetricFamily(
            "analytics_dataset_age_seconds",
            "Seconds since the tenant's current dataset was loaded",
            labels=["tenant"],
        )
        now = self._clock()
        for tenant, loaded_at in sorted(loaded.items()):
            ages.add_metric([tenant], max(0.0, (now - loaded_at).total_seconds()))
        yield ages


def scrape_registry(load_times: LoadTimes | None = None) -> CollectorRegistry:
    """Every worker's metrics in multi-process mode, else this process's, plus the
    dataset ages when `load_times` is given."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    if load_times is not None:
        registry.register(DatasetAges(load_times))  # type: ignore[arg-type]
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class MetricsListener:
    """prometheus-client's HTTP server (any path answers the exposition) in a thread."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    @classmethod
    def start(cls, host: str, port: int, registry: CollectorRegistry) -> MetricsListener:
        server, thread = start_http_server(port, addr=host, registry=registry)
        log.info("metrics at http://%s:%d/metrics", host, port)
        return cls(server, thread)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
