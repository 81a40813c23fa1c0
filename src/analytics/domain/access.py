"""Who may do what: tenants, API keys, roles and the anonymous tenant (CONTRACT.md §6)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from analytics.domain.errors import AnalyticsError

DEFAULT_TENANT = "default"
KEY_PREFIX = "cak_"  # "campaign analytics key": secret scanners can look for it
_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_KEY_ID = re.compile(r"[a-z2-7]{16}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
_KEY_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
MAX_PRESENTED_KEY_LENGTH = len(KEY_PREFIX) + 16 + 1 + 43


class Role(StrEnum):
    VIEWER = "viewer"  # reads
    EDITOR = "editor"  # also writes campaigns, creators and thresholds
    ADMIN = "admin"  # also manages the tenant's keys

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class NotAuthenticated(AnalyticsError):
    """No usable credentials: none where they are required, or an unknown, malformed or
    revoked key. Says nothing about which."""


class Forbidden(AnalyticsError):
    """A valid key whose role is too low for the operation."""


class KeyNotFound(AnalyticsError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"key '{key_id}' not found")


class UnknownTenant(AnalyticsError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant '{tenant_id}' does not exist")
        self.tenant_id = tenant_id


def tenant_id_problem(tenant_id: str) -> str | None:
    """Why `tenant_id` is not a valid tenant id (1-63 of `[a-z0-9][a-z0-9_-]*`), or None."""
    if _TENANT_ID.fullmatch(tenant_id):
        return None
    return "a tenant id is 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request: a tenant and a role; `key_id` None when anonymous."""

    tenant_id: str
    role: Role
    key_id: str | None = None

    def require(self, needed: Role) -> None:
        if self.role.rank < needed.rank:
            raise Forbidden(f"this operation needs the {needed} role; the key is {self.role}")


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    tenant_name: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key: everything but the secret, of which only a SHA-256 digest is kept."""

    key_id: str
    tenant_id: str
    key_name: str
    role: Role
    secret_sha256: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PresentedKey:
    key_id: str
    secret: str


def new_key_id() -> str:
    return "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 characters


def format_key(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret}"


def parse_key(presented: str) -> PresentedKey | None:
    """The key id and secret of `cak_<16 base32 chars>_<43 base64url chars>`, else None."""
    if len(presented) != MAX_PRESENTED_KEY_LENGTH or not presented.startswith(KEY_PREFIX):
        return None
    key_id, separator, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not separator or not _KEY_ID.fullmatch(key_id) or not _SECRET.fullmatch(secret):
        return None
    return PresentedKey(key_id, secret)


def secret_digest(secret: str) -> str:
    """SHA-256 of the secret, hex. A fast hash is right here: the secret is 256 random bits,
    so there is nothing to brute-force that a slow hash would protect."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), stored_digest)
