"""Use case: is the service able to answer?"""

import asyncio

from analytics.domain.models import ComponentStatus, HealthReport
from analytics.domain.ports import BenchmarkGateway, CampaignMetricsRepository

USABLE_BENCHMARK_SOURCES = frozenset({ComponentStatus.OK, ComponentStatus.FIXTURE})


async def service_health(
    repository: CampaignMetricsRepository, gateway: BenchmarkGateway, *, dataset: str | None
) -> HealthReport:
    """`ok` when the database answers and the benchmark source is usable, else `degraded`.

    Both probes run concurrently so a slow benchmark service does not delay the database probe.
    The dataset is the configured name, else the one the database says it serves.
    """
    database_up, benchmark_status = await asyncio.gather(
        repository.is_available(), gateway.status()
    )
    if dataset is None:
        dataset = (await repository.current_dataset() if database_up else None) or "unknown"
    database = ComponentStatus.OK if database_up else ComponentStatus.ERROR
    healthy = database_up and benchmark_status in USABLE_BENCHMARK_SOURCES
    return HealthReport(
        status="ok" if healthy else "degraded",
        database=database,
        benchmark_service=benchmark_status,
        dataset=dataset,
    )
