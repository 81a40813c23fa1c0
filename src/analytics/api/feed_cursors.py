"""Opaque, signed keyset cursors for the feeds (`/alerts`, `/jobs/runs`).

A cursor holds the (time, id) of the last item of a page, and an HMAC-SHA256 over it bound
to the feed, the caller's tenant and the filters of the request: a cursor edited, made up,
or presented by another tenant or to another list or filter is refused (422), never
followed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

from fastapi.exceptions import RequestValidationError

from analytics.domain.jobs import FeedPosition

MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_cursor(cursor: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("query", "cursor"),
                "msg": "invalid cursor",
                "input": cursor,
            }
        ]
    )


class CursorSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, binding: str, payload: bytes) -> bytes:
        message = binding.encode("utf-8") + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, position: FeedPosition, *, binding: str) -> str:
        at = position.at.astimezone(dt.UTC).isoformat()
        payload = json.dumps([at, position.key], separators=(",", ":")).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(binding, payload))}"

    def decode(self, cursor: str, *, binding: str) -> FeedPosition:
        """The position in `cursor`, or a 422 for anything not signed by this service for
        exactly this binding."""
        try:
            payload_text, mac_text = cursor.split(".")
            payload = _unb64(payload_text)
            if not hmac.compare_digest(_unb64(mac_text), self._mac(binding, payload)):
                raise ValueError("bad signature")
            at, key = json.loads(payload)
            return FeedPosition(dt.datetime.fromisoformat(at), str(key))
        except (ValueError, TypeError, UnicodeDecodeError):
            raise invalid_cursor(cursor) from None


def binding(feed: str, tenant_id: str, *filters: object) -> str:
    """What a cursor is valid for: the feed, the tenant and the request's filters."""
    return json.dumps([feed, tenant_id, *[None if f is None else str(f) for f in filters]])
