"""Request parameters shared by the routers: ids and strict integers, documented with examples."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator
from starlette.convertors import Convertor, register_url_convertor

from analytics.domain import ranking
from analytics.domain.identifiers import MAX_ID_LENGTH

EXAMPLE_CAMPAIGN_ID = "cmp-001"
_DIGITS = re.compile(r"[0-9]{1,18}")


class AnyTextConvertor(Convertor[str]):
    """A path parameter that may hold any text, `/` and line breaks included (ids are
    arbitrary text, CONTRACT.md §1); Starlette's `path` stops at a newline."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anytext", AnyTextConvertor())


def _plain_digits(value: Any) -> Any:
    """Query integers are plain decimal digits: `1.0`, `1_000`, `+5` and ` 1` are refused,
    where Pydantic's lax mode would read them as numbers."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written with plain digits")
    return value


CampaignIdPath = Annotated[
    str,
    Path(
        max_length=MAX_ID_LENGTH,
        description=f"campaign id (any text up to {MAX_ID_LENGTH} characters; percent-encode it)",
        openapi_examples={"sample": {"summary": "a sample campaign", "value": EXAMPLE_CAMPAIGN_ID}},
    ),
]
CampaignIdQuery = Annotated[
    str,
    Query(
        max_length=MAX_ID_LENGTH,
        description=f"campaign to rank the creators of (up to {MAX_ID_LENGTH} characters)",
        openapi_examples={"sample": {"summary": "a sample campaign", "value": EXAMPLE_CAMPAIGN_ID}},
    ),
]
CreatorLimit = Annotated[
    int,
    BeforeValidator(_plain_digits),
    Query(
        ge=ranking.MIN_LIMIT,
        le=ranking.MAX_LIMIT,
        description=f"how many creators (from {ranking.MIN_LIMIT} to {ranking.MAX_LIMIT})",
        openapi_examples={"two": {"summary": "the best two", "value": 2}},
    ),
]
