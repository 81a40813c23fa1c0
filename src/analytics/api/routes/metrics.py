"""The metrics explorer (CONTRACT.md §8): `GET /metrics`, the caller's tenant's totals,
filtered, grouped, sorted and paginated.

(Prometheus metrics, when they come, live at another path.)"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from analytics.api.auth import ServicesDep, Viewer
from analytics.api.explorer_parameters import PARAMETERS, MetricsParameters
from analytics.api.explorer_rendering import explorer_json
from analytics.api.rendering import JsonBytes
from analytics.api.routes.campaigns import INVALID, STORE_DOWN, UNAUTHENTICATED
from analytics.api.schemas import MetricsPageOut
from analytics.api.services import Services
from analytics.domain.access import Principal
from analytics.domain.cursors import InvalidCursor
from analytics.domain.exploring import explore_metrics


def _explained(error: dict[str, Any]) -> dict[str, Any]:
    """An unknown parameter's error says which parameters there are."""
    if error.get("type") == "extra_forbidden":
        return {**error, "msg": f"unknown parameter; allowed: {', '.join(PARAMETERS)}"}
    return error


class _ExplainedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def explained(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                errors = [_explained(dict(item)) for item in error.errors()]
                raise RequestValidationError(errors) from None

        return explained


router = APIRouter(route_class=_ExplainedRoute)


@router.get(
    "/metrics",
    response_model=MetricsPageOut,
    response_model_exclude_unset=True,
    responses={**UNAUTHENTICATED, **INVALID, **STORE_DOWN},
    tags=["metrics"],
)
async def get_metrics(
    parameters: Annotated[MetricsParameters, Query()],
    principal: Viewer,
    services: ServicesDep,
) -> JsonBytes:
    """Totals over the caller's tenant between two dates, per period and group, filtered
    (OR within one parameter, AND across), sorted and paginated by keyset (`next_cursor`).
    Rates are rounded to 4 places half away from zero (0.0 on a zero denominator), money to
    2 places; groups without rows do not appear."""
    try:
        body = await metrics_page(services, principal, parameters)
    except InvalidCursor as error:
        detail = {
            "type": "value_error",
            "loc": ("query", "cursor"),
            "msg": f"{error}: use the next_cursor of a page of the same query",
            "input": parameters.cursor,
        }
        raise RequestValidationError([detail]) from None
    return JsonBytes(body)


async def metrics_page(
    services: Services, principal: Principal, parameters: MetricsParameters
) -> bytes:
    """One page of the answer, rendered (`InvalidCursor` for a cursor of another question,
    tenant or key). The route's work, also done by `ExplorerShortcut`."""
    query = parameters.query()
    page = await explore_metrics(
        services.explorer.for_tenant(principal.tenant_id),
        services.cursors,
        tenant_id=principal.tenant_id,
        query=query,
        limit=parameters.limit,
        cursor=parameters.cursor,
    )
    return explorer_json(page, query.group_by, query.granularity)
