"""Catalog rules without a database: cursors, entity tags, names, the thresholds order."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from analytics.domain.catalog import (
    InvalidCursor,
    Kind,
    Position,
    StoredThresholds,
    etag_matches,
    etag_of,
    name_problem,
)
from analytics.domain.catalog_cursors import CursorCodec
from analytics.domain.editing import StoredThresholdsFirst, fingerprint
from analytics.domain.models import Thresholds
from tests.unit.fakes import FakeGateway

AT = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
CODEC = CursorCodec(b"0123456789abcdef")


def test_a_cursor_decodes_to_the_position_it_was_made_from() -> None:
    position = Position(AT, "cmp-ü/1")
    cursor = CODEC.encode("acme", Kind.CAMPAIGNS, position)
    assert CODEC.decode("acme", Kind.CAMPAIGNS, cursor) == position


@pytest.mark.parametrize(
    ("tenant", "kind", "secret"),
    [
        ("other", Kind.CAMPAIGNS, b"0123456789abcdef"),
        ("acme", Kind.CREATORS, b"0123456789abcdef"),
        ("acme", Kind.CAMPAIGNS, b"another secret!!"),
    ],
)
def test_a_cursor_is_refused_by_another_tenant_list_or_secret(
    tenant: str, kind: Kind, secret: bytes
) -> None:
    cursor = CODEC.encode("acme", Kind.CAMPAIGNS, Position(AT, "x"))
    with pytest.raises(InvalidCursor):
        CursorCodec(secret).decode(tenant, kind, cursor)


def test_a_signed_but_meaningless_payload_is_refused() -> None:
    import base64
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(b'{"t":"soon"}').rstrip(b"=").decode()
    message = f"acme\x00campaigns\x00{payload}".encode()
    signature = hmac.new(b"0123456789abcdef", message, hashlib.sha256).digest()
    cursor = payload + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        CODEC.decode("acme", Kind.CAMPAIGNS, cursor)


def test_if_match_compares_strong_tags_in_a_list_or_star() -> None:
    tag = etag_of(AT)
    assert etag_matches(None, AT)
    assert etag_matches("*", AT)
    assert etag_matches(f'"x", {tag}', AT)
    assert not etag_matches(f"W/{tag}", AT)
    assert not etag_matches(etag_of(AT + dt.timedelta(microseconds=1)), AT)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must not be empty"),
        ("a" * 201, "must be at most 200 characters"),
        ("a\tb", "must not contain control characters"),
        ("a\x85b", "must not contain control characters"),
        ("Ünïcode, punctuation & spaces", None),
    ],
)
def test_name_rules(name: str, problem: str | None) -> None:
    assert name_problem(name) == problem


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint("POST", "/c", {"a": 1, "b": 2}) == fingerprint(
        "POST", "/c", {"b": 2, "a": 1}
    )
    assert fingerprint("POST", "/c", {"a": 1}) != fingerprint("POST", "/d", {"a": 1})


async def _value(stored: StoredThresholds | None) -> StoredThresholds | None:
    return stored


def test_stored_thresholds_come_first_then_the_fallback() -> None:
    fallback = FakeGateway({"c": Thresholds(Decimal("0.1"), Decimal("1"))})
    stored = StoredThresholds(Thresholds(Decimal("0.5"), Decimal("2")), AT)

    async def ask(found: StoredThresholds | None) -> Thresholds:
        gateway = StoredThresholdsFirst(_value(found), fallback)
        return await gateway.thresholds_for(campaign_id="c")

    assert asyncio.run(ask(stored)) == stored.thresholds
    assert fallback.asked == []
    assert asyncio.run(ask(None)).min_ctr == Decimal("0.1")
    assert fallback.asked == ["c"]
