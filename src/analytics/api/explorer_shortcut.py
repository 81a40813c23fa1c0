"""`GET /metrics` answered without FastAPI's routing and dependency solving, for the common
case only: they cost ~0.7 ms of every request, as much as rendering 200 rows (BENCHMARKS.md,
"Metrics explorer at 20M rows").

It sits right under the serving middleware, which has authenticated the caller (and counted
and cached the request) already. It answers when the caller has at least the viewer role
and every parameter of the query string is one of the route's, given once (the filters may
repeat), with values the route's own model (`MetricsParameters`) accepts; the page is made
by the route's own function (`metrics_page`) into the route's own response class, and an
error is answered by the app's own handler for it. Anything else goes on to the route, which
answers as it always does: an unknown or repeated parameter, a value the model refuses, a
cursor of another question, no principal, too low a role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_origin

from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics.api.explorer_parameters import MetricsParameters
from analytics.api.rendering import JsonBytes
from analytics.api.routes.metrics import metrics_page
from analytics.api.services import Services
from analytics.domain.access import Principal, Role
from analytics.domain.cursors import InvalidCursor

PATH = "/metrics"
Handler = Callable[[Request, Exception], Awaitable[Any]]
# the model's fields a query string may repeat (its lists: the filters), and the others
_FIELDS = MetricsParameters.model_fields
_LISTS = frozenset(name for name, field in _FIELDS.items() if get_origin(field.annotation) is list)
_SINGLE = frozenset(_FIELDS) - _LISTS


def parameters_of(query_string: bytes) -> MetricsParameters | None:
    """The model FastAPI would make of the query string (lists from every value, the others
    from their one value), or None when the route should see it: a parameter that is not
    the model's, one given twice that is not a list, a value the model refuses."""
    query = QueryParams(query_string)
    values: dict[str, Any] = {}
    for name in query:
        given = query.getlist(name)
        if name in _LISTS:
            values[name] = given
        elif name in _SINGLE and len(given) == 1:
            values[name] = given[0]
        else:
            return None
    try:
        return MetricsParameters.model_validate(values)
    except ValidationError:
        return None


class ExplorerShortcut:
    def __init__(self, app: ASGIApp, services: Services, handlers: Mapping[Any, Handler]) -> None:
        self.app = app
        self.services = services
        self.handlers = handlers  # the app's exception handlers (read when one is needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        principal: Principal | None = scope.get("state", {}).get("principal")
        if principal is None or principal.role.rank < Role.VIEWER.rank:
            await self.app(scope, receive, send)
            return
        parameters = parameters_of(scope.get("query_string", b""))
        if parameters is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await metrics_page(self.services, principal, parameters)
        except InvalidCursor:
            await self.app(scope, receive, send)  # the route's 422 names the cursor
            return
        except Exception as error:
            handler = self._handler(error)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), error)
        else:
            response = JsonBytes(body)
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> Handler | None:
        """The app's handler of `error`'s class (the nearest registered base), not the one
        for every `Exception`: that is the server error middleware's, above."""
        for kind in type(error).__mro__:
            if kind in (Exception, BaseException, object):
                return None
            if kind in self.handlers:
                return self.handlers[kind]
        return None
