"""Opaque pagination cursors: a position signed for one tenant and one list.

`<payload>.<signature>`, both base64url: the payload is JSON `{"t": updated_at in µs since
the epoch, "i": id}`; the signature is HMAC-SHA256 over the tenant, the list and the payload
with the service's cursor secret. A cursor of another tenant or list, or one edited by hand,
fails the signature check: `InvalidCursor`, never a position the caller could not reach.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json

from analytics.domain.catalog import InvalidCursor, Kind, Position

MAX_CURSOR_LENGTH = 1024
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, tenant_id: str, kind: Kind, payload: str) -> bytes:
        message = f"{tenant_id}\x00{kind.value}\x00{payload}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def encode(self, tenant_id: str, kind: Kind, position: Position) -> str:
        micros = (position.updated_at - _EPOCH) // dt.timedelta(microseconds=1)
        document = {"t": micros, "i": position.item_id}
        payload = _b64(json.dumps(document, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._signature(tenant_id, kind, payload))}"

    def decode(self, tenant_id: str, kind: Kind, cursor: str) -> Position:
        payload, dot, signature = cursor.partition(".")
        if not dot or len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("malformed cursor")
        try:
            presented = _unb64(signature)
            expected = self._signature(tenant_id, kind, payload)
            if not hmac.compare_digest(presented, expected):
                raise InvalidCursor("cursor not valid for this list")
            document = json.loads(_unb64(payload))
            position = Position(
                _EPOCH + dt.timedelta(microseconds=document["t"]), str(document["i"])
            )
        except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
            raise InvalidCursor("malformed cursor") from None
        return position
