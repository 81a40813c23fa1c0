"""Domain errors. They say what went wrong in business terms; `api/` maps them to HTTP."""


class AnalyticsError(Exception):
    """Base of every error the use cases raise on purpose."""


class CampaignNotFound(AnalyticsError):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign '{campaign_id}' not found")
        self.campaign_id = campaign_id


class BenchmarkUnavailable(AnalyticsError):
    """Thresholds could not be had: unreachable, refused, or an invalid answer.

    The message is for logs only; clients get a generic one.
    """


class RepositoryUnavailable(AnalyticsError):
    """The metrics store could not answer (down, timed out, lost connection)."""
