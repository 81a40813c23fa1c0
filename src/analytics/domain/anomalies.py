"""Use case: the days of a campaign that break its benchmark thresholds."""

from decimal import Decimal

from analytics.domain.errors import CampaignNotFound
from analytics.domain.identifiers import id_problem
from analytics.domain.models import Alert, AnomalyReport, DailyMetrics, Issue, Thresholds
from analytics.domain.ports import BenchmarkGateway, CampaignMetricsRepository


def _ratio(value: int | Decimal) -> tuple[int, int]:
    return value.as_integer_ratio() if isinstance(value, Decimal) else (value, 1)


def _below(numerator: int | Decimal, denominator: int | Decimal, minimum: Decimal) -> bool:
    """numerator / denominator < minimum, exactly: cross-multiplied integer ratios, no
    division and no rounding at any size (denominator > 0)."""
    n, n_scale = _ratio(numerator)
    d, d_scale = _ratio(denominator)
    m, m_scale = _ratio(minimum)
    return n * d_scale * m_scale < m * d * n_scale


def daily_issues(day: DailyMetrics, thresholds: Thresholds) -> tuple[Issue, ...]:
    """The issues of one day, in contract order.

    Comparisons are exact (integers and decimals, never the rounded rates). A rate whose
    denominator is 0 is not compared; a rate equal to its threshold is not below it.
    """
    issues: list[Issue] = []
    impressions, spend = day.total_impressions, day.total_spend
    if impressions > 0 and _below(day.total_clicks, impressions, thresholds.min_ctr):
        issues.append(Issue.CTR_BELOW_THRESHOLD)
    if spend > 0 and _below(day.total_revenue, spend, thresholds.min_roas):
        issues.append(Issue.ROAS_BELOW_THRESHOLD)
    if spend > 0 and day.total_conversions == 0:
        issues.append(Issue.SPEND_WITHOUT_CONVERSIONS)
    return tuple(issues)


async def detect_anomalies(
    repository: CampaignMetricsRepository,
    gateway: BenchmarkGateway,
    *,
    campaign_id: str,
) -> AnomalyReport:
    """Alerts for every day with at least one issue, oldest first.

    The campaign must exist before thresholds are asked for; without thresholds there is no
    answer (`BenchmarkUnavailable`), never invented defaults.
    """
    if id_problem(campaign_id) is not None:
        raise CampaignNotFound(campaign_id)
    days = await repository.daily_metrics(campaign_id=campaign_id)
    if days is None:
        raise CampaignNotFound(campaign_id)
    thresholds = await gateway.thresholds_for(campaign_id=campaign_id)
    alerts = []
    for day in sorted(days, key=lambda d: d.metric_date):
        issues = daily_issues(day, thresholds)
        if issues:
            alerts.append(
                Alert(metric_date=day.metric_date, issues=issues, ctr=day.ctr, roas=day.roas)
            )
    return AnomalyReport(campaign_id=campaign_id, thresholds=thresholds, alerts=tuple(alerts))
