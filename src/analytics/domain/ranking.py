"""Use case: the best creators of a campaign."""

from analytics.domain.errors import CampaignNotFound
from analytics.domain.identifiers import id_problem
from analytics.domain.models import CreatorRanking
from analytics.domain.ports import CampaignMetricsRepository

MIN_LIMIT = 1
MAX_LIMIT = 1000
DEFAULT_LIMIT = 10


async def top_creators(
    repository: CampaignMetricsRepository, *, campaign_id: str, limit: int = DEFAULT_LIMIT
) -> CreatorRanking:
    """Creators of a campaign with their totals over the whole campaign.

    Ranked by conversions desc, then clicks desc, then creator_id asc (plain string order),
    at most `limit` of them. Only creators with metric rows in the campaign appear.
    """
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between {MIN_LIMIT} and {MAX_LIMIT}")
    if id_problem(campaign_id) is not None:
        raise CampaignNotFound(campaign_id)
    creators = await repository.top_creators(campaign_id=campaign_id, limit=limit)
    if creators is None:
        raise CampaignNotFound(campaign_id)
    return CreatorRanking(campaign_id=campaign_id, limit=limit, creators=tuple(creators))
