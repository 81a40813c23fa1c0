"""`BenchmarkGateway` implementations: the HTTP benchmark service, a fixture file, or none."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from analytics.adapters.thresholds import decode_json, parse_thresholds
from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.models import ComponentStatus, Thresholds
from analytics.domain.ports import BenchmarkGateway
from analytics.logs import escape_controls
from analytics.telemetry.metrics import record_benchmark_call

log = logging.getLogger(__name__)
EXCERPT_CHARACTERS = 200  # of an upstream body, in the log line of a failure


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of transient failures inside an overall time budget (seconds)."""

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 1.0
    time_budget: float = 3.0
    health_timeout: float = 1.0


class _TransientError(Exception):
    """A failure worth retrying: connection error, timeout or a 5xx answer."""


def _path_segment(campaign_id: str) -> str:
    """The id as one percent-encoded path segment. `.` and `..` are encoded too: left as
    they are, URL normalisation would drop them (`/benchmarks/..` becomes `/`)."""
    segment = quote(campaign_id, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _answer(response: httpx.Response) -> str:
    """`answered 503 (10240 bytes): <the body's first characters>`, on one line."""
    text = response.text
    excerpt = escape_controls(text[:EXCERPT_CHARACTERS])
    ellipsis = "…" if len(text) > EXCERPT_CHARACTERS else ""
    size = len(response.content)
    return f"answered {response.status_code} ({size} bytes): {excerpt}{ellipsis}"


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.debug("benchmark attempt %d: %s; retrying in %.2f s", state.attempt_number, error, wait)


class HttpxBenchmarkGateway:
    """Thresholds from `GET {base}/benchmarks/{campaign_id}` over a shared AsyncClient.

    `client` gives the client to use, called once per request: the composition root hands
    out one client per event loop (`LoopLocal`), so a served app shares a single one.
    """

    def __init__(
        self, client: Callable[[], httpx.AsyncClient], policy: RetryPolicy | None = None
    ) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        """The failure's description (status, body excerpt) goes into BenchmarkUnavailable,
        which the API logs once; retried attempts are logged here at DEBUG only."""
        path = f"/benchmarks/{_path_segment(campaign_id)}"
        try:
            async with asyncio.timeout(self._policy.time_budget):
                response, attempt = await self._get_with_retries(path)
        except TimeoutError:
            budget = f"{self._policy.time_budget:g} s"
            raise BenchmarkUnavailable(f"benchmark service: no answer within {budget}") from None
        except _TransientError as error:
            raise BenchmarkUnavailable(f"benchmark service {error}") from error
        except httpx.HTTPError as error:  # not transient, e.g. a body that cannot be decompressed
            raise BenchmarkUnavailable(f"benchmark service failed: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            outcome = "client_error" if response.is_client_error else "unexpected_status"
            record_benchmark_call(outcome, attempt)
            raise BenchmarkUnavailable(f"benchmark service {_answer(response)}")
        try:
            thresholds = parse_thresholds(decode_json(response.content))
        except ValueError as error:
            record_benchmark_call("invalid", attempt)
            raise BenchmarkUnavailable(
                f"invalid benchmark response: {error}; {_answer(response)}"
            ) from error
        record_benchmark_call("ok", attempt)
        return thresholds

    async def _get_with_retries(self, path: str) -> tuple[httpx.Response, int]:
        """The answer that ended the retries, and which attempt (from 1) it was."""
        policy = self._policy
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.time_budget),
            # jitter in proportion to the backoff: tenacity's default of up to 1 s would
            # dwarf a 0.1 s initial backoff and eat most of a small time budget
            wait=wait_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)
            + wait_random(0, policy.initial_backoff),
            retry=retry_if_exception_type(_TransientError),
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                return await self._get_once(path, number), number
        raise AssertionError(
            "unreachable: tenacity either returns or re-raises"
        )  # pragma: no cover

    async def _get_once(self, path: str, attempt: int) -> httpx.Response:
        """One attempt; its outcome is counted here unless it is an answer below 500,
        which `thresholds_for` judges (and counts)."""
        try:
            response = await self._client().get(path)
        except asyncio.CancelledError:  # the time budget ran out during the attempt
            record_benchmark_call("timeout", attempt)
            raise
        except httpx.TimeoutException as error:
            record_benchmark_call("timeout", attempt)
            raise _TransientError(f"failed: {error!r}") from error
        except httpx.TransportError as error:
            record_benchmark_call("transport_error", attempt)
            raise _TransientError(f"failed: {error!r}") from error
        except httpx.HTTPError:
            record_benchmark_call("invalid", attempt)
            raise
        if response.is_server_error:
            record_benchmark_call("server_error", attempt)
            raise _TransientError(_answer(response))
        return response

    async def status(self) -> ComponentStatus:
        """OK when `GET /health` answers 2xx within the health timeout, in total. Only the
        status line counts: the body is never read, so a slow body cannot hold the probe."""
        timeout = self._policy.health_timeout
        try:
            async with (
                asyncio.timeout(timeout),
                self._client().stream("GET", "/health", timeout=timeout) as response,
            ):
                reachable = response.is_success
        except (TimeoutError, httpx.HTTPError) as error:
            log.warning("benchmark service health probe failed: %r", error)
            return ComponentStatus.ERROR
        return ComponentStatus.OK if reachable else ComponentStatus.ERROR


class FixtureBenchmarkGateway:
    """Thresholds from a `benchmarks.json`; campaigns missing from it go to `fallback`."""

    def __init__(
        self, thresholds: Mapping[str, Thresholds], fallback: BenchmarkGateway | None = None
    ) -> None:
        self._thresholds = dict(thresholds)
        self._fallback = fallback

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        if campaign_id in self._thresholds:
            return self._thresholds[campaign_id]
        if self._fallback is None:
            raise BenchmarkUnavailable(f"no fixture thresholds for campaign {campaign_id!r}")
        return await self._fallback.thresholds_for(campaign_id=campaign_id)

    async def status(self) -> ComponentStatus:
        return ComponentStatus.FIXTURE


class UnconfiguredBenchmarkGateway:
    """Neither a benchmark service nor a fixture file is configured."""

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        raise BenchmarkUnavailable("no benchmark source is configured")

    async def status(self) -> ComponentStatus:
        return ComponentStatus.ERROR


def read_fixture_file(path: Path) -> dict[str, Thresholds]:
    """campaign_id → thresholds from a `benchmarks.json`; ValueError names what is wrong."""
    try:
        payload = decode_json(path.read_bytes())
    except OSError as error:
        raise ValueError(f"cannot read '{path}': {error.strerror}") from error
    except ValueError as error:
        raise ValueError(f"'{path}' is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise ValueError(f"'{path}' must hold a JSON object of campaign ids")
    thresholds = {}
    for campaign_id, entry in payload.items():
        try:
            thresholds[campaign_id] = parse_thresholds(entry)
        except ValueError as error:
            raise ValueError(f"'{path}', campaign '{campaign_id}': {error}") from error
    return thresholds
