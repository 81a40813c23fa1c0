"""Use case: how a campaign performed over all of its metric rows."""

from analytics.domain.errors import CampaignNotFound
from analytics.domain.identifiers import id_problem
from analytics.domain.models import CampaignPerformance
from analytics.domain.ports import CampaignMetricsRepository


async def campaign_performance(
    repository: CampaignMetricsRepository, *, campaign_id: str
) -> CampaignPerformance:
    """Totals and rates of one campaign.

    ctr = clicks / impressions, cvr = conversions / clicks, roas = revenue / spend, each 0.0
    when its denominator is 0; unknown revenue counts as 0; a campaign without metric rows
    has all-zero totals.
    """
    if id_problem(campaign_id) is not None:
        raise CampaignNotFound(campaign_id)
    performance = await repository.campaign_performance(campaign_id=campaign_id)
    if performance is None:
        raise CampaignNotFound(campaign_id)
    return performance
