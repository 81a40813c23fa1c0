"""The HTTP API's routers, one module per capability."""

from fastapi import APIRouter

from analytics.api.routes import alerts, campaigns, catalog, jobs, keys, metrics, thresholds

router = APIRouter()
router.include_router(campaigns.router)
router.include_router(keys.router)
# After the campaign questions: `/campaigns/{id:anytext}` would also match `…/performance`.
router.include_router(thresholds.router)
router.include_router(catalog.router)
router.include_router(alerts.router)
router.include_router(jobs.router)
router.include_router(metrics.router)
