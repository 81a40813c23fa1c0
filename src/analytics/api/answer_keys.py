"""What identifies a cached answer: the endpoint (one of the cacheable GET routes), the
request normalised, and the entity tag of a body.

The routes are matched here as the router matches them (same order, same patterns: a
campaign or creator id is any text, `/` included); only GET answers of these are cached.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl

import orjson

_ANY = r"[\s\S]*"
# (template, pattern) in the router's order (the campaign questions before the catalog
# item), templates spelled as the router's own `path_format`, so that metrics label an
# answer made before routing as the router would.
CACHEABLE_ROUTES = tuple(
    (template, re.compile(pattern))
    for template, pattern in (
        ("/campaigns/{campaign_id}/performance", rf"/campaigns/{_ANY}/performance"),
        ("/creators/top", r"/creators/top"),
        ("/campaigns/{campaign_id}/anomalies", rf"/campaigns/{_ANY}/anomalies"),
        ("/campaigns/{campaign_id}/thresholds", rf"/campaigns/{_ANY}/thresholds"),
        ("/campaigns", r"/campaigns"),
        ("/campaigns/{campaign_id}", rf"/campaigns/{_ANY}"),
        ("/creators", r"/creators"),
        ("/creators/{creator_id}", rf"/creators/{_ANY}"),
        ("/alerts", r"/alerts"),
        ("/metrics", r"/metrics"),
    )
)


def cacheable_template(path: str) -> str | None:
    """The template of the cacheable route `path` (decoded) goes to, else None."""
    for template, pattern in CACHEABLE_ROUTES:
        if pattern.fullmatch(path):
            return template
    return None


def normalised_query(query_string: bytes) -> list[tuple[str, str]]:
    """The parameters as the app reads them, ordered by name; repeated ones keep their
    order (the last of a single-valued one is the one read, and stays the last)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return sorted(pairs, key=lambda pair: pair[0])


def answer_key(
    *, tenant_id: str, version: str, deployment: str, template: str, path: str, query: bytes
) -> str:
    """`<tenant>:<digest>`: the tenant in the clear, so no two tenants ever share an entry,
    and a digest of everything else the answer depends on."""
    request = orjson.dumps([deployment, version, template, path, normalised_query(query)])
    return f"{tenant_id}:{hashlib.blake2b(request, digest_size=20).hexdigest()}"


def body_etag(body: bytes) -> bytes:
    """A strong entity tag of the bytes themselves: the same answer keeps its tag across
    versions, so a client's copy stays valid after a load that changed nothing it shows."""
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def none_match(header: bytes | None, etag: bytes) -> bool:
    """RFC 9110 §13.1.2: whether `If-None-Match` names `etag` (weak comparison) or is `*`."""
    if header is None:
        return False
    opaque = etag.removeprefix(b"W/")
    for candidate in header.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == opaque:
            return True
    return False
