"""Use case: is the service able to answer?"""

import asyncio
from typing import Protocol

from analytics.domain.models import ComponentStatus, HealthReport
from analytics.domain.ports import BenchmarkGateway, CampaignMetricsRepository

USABLE_BENCHMARK_SOURCES = frozenset({ComponentStatus.OK, ComponentStatus.FIXTURE})
UNKNOWN_DATASET = "unknown"


class Database(Protocol):
    async def is_available(self) -> bool: ...


async def service_health(
    database: Database,
    gateway: BenchmarkGateway,
    *,
    dataset: str | None,
    dataset_tenant: CampaignMetricsRepository | None = None,
) -> HealthReport:
    """`ok` when the database answers and the benchmark source is usable, else `degraded`.

    Both probes run concurrently so a slow benchmark service does not delay the database probe.
    The dataset is the configured name, else the one the anonymous tenant is served (never
    another tenant's: /health needs no credentials), else `unknown`.
    """
    database_up, benchmark_status = await asyncio.gather(database.is_available(), gateway.status())
    if dataset is None and database_up and dataset_tenant is not None:
        dataset = await dataset_tenant.current_dataset()
    status = ComponentStatus.OK if database_up else ComponentStatus.ERROR
    healthy = database_up and benchmark_status in USABLE_BENCHMARK_SOURCES
    return HealthReport(
        status="ok" if healthy else "degraded",
        database=status,
        benchmark_service=benchmark_status,
        dataset=dataset or UNKNOWN_DATASET,
    )
