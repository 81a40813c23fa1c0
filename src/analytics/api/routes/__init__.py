"""The HTTP API's routers, one module per capability."""

from fastapi import APIRouter

from analytics.api.routes import alerts, campaigns, jobs, keys, metrics

router = APIRouter()
router.include_router(campaigns.router)
router.include_router(keys.router)
router.include_router(alerts.router)
router.include_router(jobs.router)
router.include_router(metrics.router)
