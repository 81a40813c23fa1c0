"""The serving path in front of the routers: who is calling, how much they may still ask
(rate limits), and answers already made (the result cache, ETag and 304).

A cached answer never goes through the router: the middleware authenticates the caller
(the key cache makes that a dictionary lookup), reads the tenant's dataset version, and
sends the stored bytes. Everything else goes to the app, which authenticates again only
when the middleware could not (the principal is handed down in the request's state).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.adapters.rate_limits import Quota, Usage
from analytics.adapters.result_cache import CachedAnswer
from analytics.api.answer_keys import answer_key, body_etag, cacheable_template, none_match
from analytics.api.auth import presented_key
from analytics.api.errors import STORE_UNAVAILABLE
from analytics.api.observability import ROUTE_TEMPLATE
from analytics.api.services import Services
from analytics.domain.access import NotAuthenticated, Principal
from analytics.domain.authentication import authenticate
from analytics.domain.errors import RepositoryUnavailable
from analytics.domain.models import ComponentStatus, Thresholds
from analytics.domain.ports import BenchmarkGateway
from analytics.log_json import note_tenant

log = logging.getLogger(__name__)
EXEMPT_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/redoc"})
EXEMPT_PREFIXES = ("/docs/", "/static-offline-docs/")
ANONYMOUS = "anonymous"
_JSON = b"application/json"


class ResultCache(Protocol):
    async def get(self, key: str) -> CachedAnswer | None: ...

    async def put(self, key: str, answer: CachedAnswer) -> None: ...


class DatasetVersions(Protocol):
    async def version(self, tenant_id: str) -> str | None:
        """The tenant's dataset version; None when it cannot be told (a write in flight)."""


class RateLimiter(Protocol):
    async def hit(self, key: str, quota: Quota) -> Usage: ...


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ServingHooks:
    """Where counters plug in: `cache(result)` with `hit`, `miss` or `bypass` for every
    cacheable request; `rate_limited(policy)` for every 429 (the policy is a role name or
    `anonymous`)."""

    cache: Callable[[str], None] = _ignore
    rate_limited: Callable[[str], None] = _ignore


@dataclass(frozen=True, slots=True)
class Serving:
    services: Services
    cache: ResultCache | None  # None: answers are not cached
    versions: DatasetVersions | None
    deployment: str  # what else answers depend on: code and configuration (see app.py)
    limiter: RateLimiter | None  # None: no rate limits
    quotas: dict[str, Quota] = field(default_factory=dict)  # by role, and ANONYMOUS
    hooks: ServingHooks = field(default_factory=ServingHooks)


class _Answer:
    """Whether the answer being made may be cached: a handler whose answer depends on
    something the dataset version does not cover says so (`uncacheable`)."""

    __slots__ = ("cacheable",)

    def __init__(self) -> None:
        self.cacheable = True


_answer: ContextVar[_Answer | None] = ContextVar("analytics_answer", default=None)


def uncacheable() -> None:
    """The answer of the current request must not be cached (e.g. it used thresholds from
    the benchmark service, which may change them at any time without a version)."""
    answer = _answer.get()
    if answer is not None:
        answer.cacheable = False


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _rate_headers(quota: Quota, usage: Usage) -> list[tuple[bytes, bytes]]:
    """draft-ietf-httpapi-ratelimit-headers (-08 onward, structured fields)."""
    name = quota.name.encode()
    return [
        (b"ratelimit-policy", b'"%s";q=%d;w=%d' % (name, quota.limit, quota.window)),
        (b"ratelimit", b'"%s";r=%d;t=%d' % (name, usage.remaining, usage.reset)),
    ]


async def _send_json(send: Send, status: int, body: bytes, headers: list) -> None:
    start = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def _started(serving: Serving, tenant_id: str) -> asyncio.Future[str | None]:
    """The tenant's version read, begun now (after the request arrived: it sees every
    commit made before), awaited later."""
    assert serving.versions is not None
    return asyncio.ensure_future(serving.versions.version(tenant_id))


def _forget(version: asyncio.Future[str | None] | None) -> None:
    """A version read no longer needed (429, or the count failed): cancelled, its outcome
    retrieved so that nothing is logged as never retrieved."""
    if version is not None:
        version.cancel()
        version.add_done_callback(lambda done: done.cancelled() or done.exception())


class ServingMiddleware:
    def __init__(self, app: ASGIApp, serving: Serving) -> None:
        self.app = app
        self.serving = serving

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        template = cacheable_template(path)
        if template is not None:  # for the metrics of answers made here, not by the router
            scope[ROUTE_TEMPLATE] = template
        try:
            principal = await self._caller(scope)
        except RepositoryUnavailable:
            await _send_json(send, 503, b'{"detail":"%s"}' % STORE_UNAVAILABLE.encode(), [])
            return
        if self.serving.cache is None or principal is None or scope["method"] != "GET":
            template = None
        extra: list[tuple[bytes, bytes]] = []
        version: asyncio.Future[str | None] | None = None
        if self.serving.limiter is not None:
            quota = self.serving.quotas[
                ANONYMOUS if principal is None or principal.key_id is None else principal.role.value
            ]
            if template is not None and principal is not None:
                # the version read and the count are two round trips: make them at once
                version = _started(self.serving, principal.tenant_id)
            try:
                usage = await self.serving.limiter.hit(_identity(scope, principal), quota)
            except BaseException:
                _forget(version)
                raise
            extra = _rate_headers(quota, usage)
            if not usage.allowed:
                _forget(version)
                self.serving.hooks.rate_limited(quota.name)
                detail = b'{"detail":"rate limit exceeded: %d requests per %d s"}' % (
                    quota.limit,
                    quota.window,
                )
                await _send_json(send, 429, detail, [(b"retry-after", b"%d" % usage.reset), *extra])
                return
        if template is None or principal is None:
            await self.app(scope, receive, _with_headers(send, extra))
            return
        await self._cached(scope, receive, send, principal, template, extra, version)

    async def _caller(self, scope: Scope) -> Principal | None:
        """The authenticated caller, None when the credentials are refused (the app then
        answers 401 itself); kept in the request state for the app's own dependency."""
        services = self.serving.services
        try:
            presented = presented_key(_header_text(scope, b"authorization"))
            principal = await authenticate(
                presented,
                services.keys,
                anonymous_tenant=services.anonymous_tenant,
                now=dt.datetime.now(dt.UTC),
            )
        except NotAuthenticated:
            return None
        scope.setdefault("state", {})["principal"] = principal
        note_tenant(principal.tenant_id)  # for the request's access line
        return principal

    async def _cached(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        principal: Principal,
        template: str,
        extra: list[tuple[bytes, bytes]],
        started: asyncio.Future[str | None] | None,
    ) -> None:
        serving = self.serving
        assert serving.cache is not None
        assert serving.versions is not None
        try:
            if started is None:  # no count to overlap with: no task either
                version = await serving.versions.version(principal.tenant_id)
            else:
                version = await started
        except RepositoryUnavailable:
            serving.hooks.cache("bypass")
            await _send_json(send, 503, b'{"detail":"%s"}' % STORE_UNAVAILABLE.encode(), extra)
            return
        if version is None:
            serving.hooks.cache("bypass")
            await self.app(scope, receive, _with_headers(send, extra))
            return
        key = answer_key(
            tenant_id=principal.tenant_id,
            version=version,
            deployment=serving.deployment,
            template=template,
            path=scope["path"],
            query=scope.get("query_string", b""),
        )
        stored = await serving.cache.get(key)
        if stored is not None:
            serving.hooks.cache("hit")
            await _answer_stored(
                scope, send, stored, [(b"cache-status", b"analytics; hit"), *extra]
            )
            return
        serving.hooks.cache("miss")
        await self._made(scope, receive, send, key, extra)

    async def _made(
        self, scope: Scope, receive: Receive, send: Send, key: str, extra: list
    ) -> None:
        """The app's answer, stored when it is a cacheable 200, then sent (304 when the
        client already holds it)."""
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        answer = _Answer()
        token = _answer.set(answer)
        try:
            await self.app(scope, receive, keep)
        finally:
            _answer.reset(token)
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        if start.get("status") != 200 or not answer.cacheable:
            await send({**start, "headers": [*headers, *extra]})
            await send({"type": "http.response.body", "body": body})
            return
        etag = next((value for name, value in headers if name == b"etag"), None)
        if etag is None:
            etag = body_etag(body)
            headers.append((b"etag", etag))
        content_type = next((v for n, v in headers if n == b"content-type"), _JSON)
        cache = self.serving.cache
        assert cache is not None
        stored = await cache.put(key, CachedAnswer(body, etag, content_type))
        status = b"analytics; fwd=miss; stored" if stored else b"analytics; fwd=miss"
        headers = [*headers, (b"cache-status", status), *extra]
        if none_match(_header(scope, b"if-none-match"), etag):
            await _send_not_modified(send, etag, headers)
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _identity(scope: Scope, principal: Principal | None) -> str:
    """Whom a request is counted against: its key, else its client's address."""
    if principal is not None and principal.key_id is not None:
        return f"key:{principal.key_id}"
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


def _header_text(scope: Scope, name: bytes) -> str | None:
    value = _header(scope, name)
    return None if value is None else value.decode("latin-1")


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    if not extra:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


async def _answer_stored(
    scope: Scope, send: Send, stored: CachedAnswer, extra: list[tuple[bytes, bytes]]
) -> None:
    if none_match(_header(scope, b"if-none-match"), stored.etag):
        await _send_not_modified(send, stored.etag, extra)
        return
    headers = [
        (b"content-type", stored.content_type),
        (b"content-length", str(len(stored.body)).encode()),
        (b"etag", stored.etag),
        *extra,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


async def _send_not_modified(send: Send, etag: bytes, headers: list) -> None:
    """304 (RFC 9110 §15.4.5): no body, the entity tag, and none of the body's headers."""
    kept = [
        (name, value)
        for name, value in headers
        if name not in (b"content-type", b"content-length", b"etag")
    ]
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag), *kept]})
    await send({"type": "http.response.body", "body": b""})


class UnversionedThresholds:
    """A `BenchmarkGateway` whose answers no dataset version covers (the benchmark
    service may change them at any time): an answer that asked it is not cached."""

    def __init__(self, inner: BenchmarkGateway) -> None:
        self._inner = inner

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        uncacheable()
        return await self._inner.thresholds_for(campaign_id=campaign_id)

    async def status(self) -> ComponentStatus:
        return await self._inner.status()
