"""Opaque, signed page cursors: a client can resume a listing, never forge a position, nor
carry a cursor over to another tenant or another question."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json


class InvalidCursor(ValueError):
    """A cursor this service did not give for this tenant and this question."""


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decoded(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """HMAC-SHA256 over the position and the scope (tenant and question) it belongs to;
    the scope itself is not in the cursor, only bound into the signature."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, scope: str, payload: bytes) -> bytes:
        message = scope.encode("utf-8") + b"\x00" + payload
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def sign(self, scope: str, position: list[str]) -> str:
        payload = json.dumps(position, ensure_ascii=False, separators=(",", ":")).encode()
        return f"{_encoded(payload)}.{_encoded(self._signature(scope, payload))}"

    def verify(self, scope: str, cursor: str) -> list[str]:
        """The position signed into `cursor` for `scope`, or `InvalidCursor`."""
        try:
            payload_text, signature_text = cursor.split(".")
            payload, signature = _decoded(payload_text), _decoded(signature_text)
        except (ValueError, binascii.Error):
            raise InvalidCursor("malformed cursor") from None
        if not hmac.compare_digest(signature, self._signature(scope, payload)):
            raise InvalidCursor("not a cursor of this query")
        position = json.loads(payload)
        if not isinstance(position, list) or not all(isinstance(v, str) for v in position):
            raise InvalidCursor("malformed cursor")  # pragma: no cover - signed by us
        return position
