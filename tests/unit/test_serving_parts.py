"""The pieces of the serving path on their own: answer keys, entity tags, the in-process
cache's bounds, fixed-window counters, rate settings and shared version reads."""

from __future__ import annotations

import asyncio

import pytest

from analytics.adapters.postgres_versions import _Rounds
from analytics.adapters.rate_limits import MemoryRateLimiter, Quota
from analytics.adapters.result_cache import CachedAnswer, MemoryResultCache
from analytics.api.answer_keys import (
    answer_key,
    body_etag,
    cacheable_template,
    none_match,
    normalised_query,
)
from analytics.settings import ConfigurationError, Settings, load_settings, rate_limit


def _key(**changes: object) -> str:
    parts: dict = {
        "tenant_id": "acme",
        "version": "3/2026-01-01T00:00:00+00:00",
        "deployment": "d",
        "template": "/creators/top",
        "path": "/creators/top",
        "query": b"campaign_id=cmp-1&limit=2",
    }
    return answer_key(**{**parts, **changes})


def test_parameter_order_does_not_change_the_key_but_every_value_does() -> None:
    assert _key(query=b"limit=2&campaign_id=cmp-1") == _key()
    assert _key(query=b"campaign_id=cmp-1&limit=3") != _key()
    assert _key(version="4/2026-01-01T00:00:00+00:00") != _key()
    assert _key(deployment="other") != _key()
    assert _key(path="/creators/top ") != _key()


def test_keys_of_two_tenants_never_meet_even_for_the_same_request() -> None:
    assert _key(tenant_id="acme").startswith("acme:")
    assert _key(tenant_id="globex").startswith("globex:")
    assert _key(tenant_id="acme") != _key(tenant_id="globex")


def test_repeated_parameters_keep_their_order_and_encodings_are_read_as_the_app_reads_them():
    assert normalised_query(b"platform=b&campaign_id=x&platform=a") == [
        ("campaign_id", "x"),
        ("platform", "b"),
        ("platform", "a"),
    ]
    assert normalised_query(b"campaign_id=cmp%2D1") == normalised_query(b"campaign_id=cmp-1")
    assert normalised_query(b"limit=1&limit=2") != normalised_query(b"limit=2&limit=1")


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/campaigns/cmp-1/performance", "/campaigns/{campaign_id}/performance"),
        ("/campaigns/a/b/performance", "/campaigns/{campaign_id}/performance"),
        ("/campaigns/x/anomalies", "/campaigns/{campaign_id}/anomalies"),
        ("/campaigns/x/thresholds", "/campaigns/{campaign_id}/thresholds"),
        ("/campaigns/x", "/campaigns/{campaign_id}"),
        ("/campaigns", "/campaigns"),
        ("/creators/top", "/creators/top"),
        ("/creators/crt-1", "/creators/{creator_id}"),
        ("/alerts", "/alerts"),
        ("/metrics", "/metrics"),
        ("/health", None),
        ("/jobs/runs", None),
        ("/keys", None),
        ("/docs", None),
    ],
)
def test_only_the_read_endpoints_of_data_are_cacheable(path: str, template: str | None) -> None:
    assert cacheable_template(path) == template


def test_entity_tags_are_strong_and_follow_the_bytes() -> None:
    tag = body_etag(b'{"a":1}')
    assert tag.startswith(b'"')
    assert tag.endswith(b'"')
    assert body_etag(b'{"a":1}') == tag
    assert body_etag(b'{"a":2}') != tag


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        (b'"abc"', True),
        (b'W/"abc"', True),
        (b'"x", "abc"', True),
        (b"*", True),
        (b'"abd"', False),
        (b"abc", False),
    ],
)
def test_if_none_match_uses_the_weak_comparison_of_rfc_9110(header, matches) -> None:
    assert none_match(header, b'"abc"') is matches


def _answer(size: int) -> CachedAnswer:
    return CachedAnswer(body=b"x" * size, etag=b'"e"', content_type=b"application/json")


async def test_the_least_recently_used_entry_goes_first_when_entries_are_bounded() -> None:
    cache = MemoryResultCache(max_entries=2, max_bytes=10_000, ttl=60)
    await cache.put("a", _answer(1))
    await cache.put("b", _answer(1))
    assert await cache.get("a") is not None  # "b" is now the least recently used
    await cache.put("c", _answer(1))
    assert await cache.get("b") is None
    assert await cache.get("a") is not None
    assert await cache.get("c") is not None
    assert len(cache) == 2


async def test_the_byte_bound_holds_and_an_answer_larger_than_it_is_never_kept() -> None:
    cache = MemoryResultCache(max_entries=100, max_bytes=100, ttl=60)
    for name in "abcdef":
        await cache.put(name, _answer(30))
    assert cache.size_in_bytes <= 100
    assert await cache.get("f") is not None
    assert await cache.get("a") is None
    await cache.put("huge", _answer(500))
    assert await cache.get("huge") is None
    assert cache.size_in_bytes <= 100


async def test_an_entry_past_its_ttl_is_never_answered() -> None:
    cache = MemoryResultCache(max_entries=10, max_bytes=10_000, ttl=0.05)
    await cache.put("a", _answer(1))
    assert await cache.get("a") is not None
    await asyncio.sleep(0.08)
    assert await cache.get("a") is None
    assert cache.size_in_bytes == 0


def test_stored_answers_read_back_whole() -> None:
    answer = CachedAnswer(body=b'{"a":\n"b"}', etag=b'"e"', content_type=b"application/json")
    assert CachedAnswer.decoded(answer.encoded()) == answer
    assert CachedAnswer.decoded(b"garbage") is None


async def test_the_limit_plus_first_request_of_a_window_is_refused_then_a_new_window_opens():
    limiter = MemoryRateLimiter()
    quota = Quota("viewer", 3, 1)
    usages = [await limiter.hit("key:a", quota) for _ in range(4)]
    assert [u.allowed for u in usages] == [True, True, True, False]
    assert [u.remaining for u in usages] == [2, 1, 0, 0]
    assert all(u.reset == 1 for u in usages)
    assert (await limiter.hit("key:b", quota)).allowed  # another caller counts apart
    await asyncio.sleep(1.05)
    assert (await limiter.hit("key:a", quota)).remaining == 2


async def test_in_process_counters_are_bounded() -> None:
    limiter = MemoryRateLimiter(max_counters=10)
    for n in range(50):
        await limiter.hit(f"address:{n}", Quota("anonymous", 5, 60))
    assert len(limiter._windows) == 10


@pytest.mark.parametrize(
    ("text", "rate"),
    [("600/minute", (600, 60)), ("5/second", (5, 1)), ("10 / hours", (10, 3600)),
     ("1/day", (1, 86_400))],
)  # fmt: skip
def test_rates_are_read_as_requests_per_window(text: str, rate: tuple[int, int]) -> None:
    assert rate_limit(text) == rate


@pytest.mark.parametrize("text", ["600", "0/minute", "600/fortnight", "-1/second", "x/minute"])
def test_a_bad_rate_stops_start_up_naming_the_variable(
    text: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RATE_LIMIT_EDITOR", text)
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_EDITOR"):
        load_settings()


def test_the_defaults_limit_every_role(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RATE_LIMITS_ENABLED")  # conftest turns them off for other suites
    settings = Settings(data_dir=tmp_path)
    assert settings.rate_limits_enabled is True
    assert rate_limit(settings.rate_limit_viewer) == (600, 60)


async def test_a_version_read_is_shared_only_by_requests_that_arrived_before_it_started():
    started: list[asyncio.Event] = []
    release = asyncio.Event()
    reads = 0

    async def read() -> str:
        nonlocal reads
        reads += 1
        number = reads
        started.append(asyncio.Event())
        started[-1].set()
        await release.wait()
        return f"v{number}"

    rounds = _Rounds(read)
    first = asyncio.create_task(rounds.next())
    joining = asyncio.create_task(rounds.next())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert reads == 1  # the read is in flight
    late = [asyncio.create_task(rounds.next()) for _ in range(3)]  # arrived after it started
    await asyncio.sleep(0)
    release.set()
    assert await first == "v1"
    assert await joining == "v1"
    assert [await task for task in late] == ["v2", "v2", "v2"]
    assert reads == 2


async def test_a_failed_version_read_fails_its_waiters_and_the_next_one_reads_again() -> None:
    outcomes = iter([RuntimeError("down"), "v2"])

    async def read() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    rounds = _Rounds(read)
    with pytest.raises(RuntimeError):
        await rounds.next()
    assert await rounds.next() == "v2"
