"""The HTTP API's routers, one module per capability."""

from fastapi import APIRouter

from analytics.api.routes import campaigns, keys, metrics

router = APIRouter()
router.include_router(campaigns.router)
router.include_router(keys.router)
router.include_router(metrics.router)
