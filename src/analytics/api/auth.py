"""Authentication and authorisation for the routers: `Authorization: Bearer <key>`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from analytics.api.services import Services, services_of
from analytics.domain.access import NotAuthenticated, Principal, Role
from analytics.domain.authentication import authenticate
from analytics.domain.ports import CampaignMetricsRepository
from analytics.log_json import note_tenant

# Declares the scheme in OpenAPI (the "Authorize" button of /docs); the header itself is read
# below, where a malformed one must be told apart from a missing one.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="cak_…",
    description="An API key from `analytics keys create`: `Authorization: Bearer cak_…`.",
)


def presented_key(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None without the header;
    `NotAuthenticated` for any other scheme or an empty credential."""
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise NotAuthenticated("malformed Authorization header")
    return credentials.strip()


async def current_principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    known = request.scope.get("state", {}).get("principal")
    if known is not None:  # authenticated by the serving middleware already
        return known
    services = services_of(request)
    principal = await authenticate(
        presented_key(request.headers.get("authorization")),
        services.keys,
        anonymous_tenant=services.anonymous_tenant,
        now=dt.datetime.now(dt.UTC),
    )
    note_tenant(principal.tenant_id)  # for the request's access line
    return principal


def requires(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller, or 403 when its role is below `role`."""

    async def principal_with_role(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        principal.require(role)
        return principal

    return principal_with_role


Viewer = Annotated[Principal, Depends(requires(Role.VIEWER))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]


def tenant_repository(
    principal: Viewer, services: Annotated[Services, Depends(services_of)]
) -> CampaignMetricsRepository:
    """The caller's tenant's repository: every statement it runs is scoped to that tenant."""
    return services.metrics.for_tenant(principal.tenant_id)


TenantRepository = Annotated[CampaignMetricsRepository, Depends(tenant_repository)]
ServicesDep = Annotated[Services, Depends(services_of)]
