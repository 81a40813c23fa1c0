"""What the benchmark service accepts: campaign ids and thresholds, with the reasons it refuses.

The rules restate CONTRACT.md §1 (ids) and §3 (thresholds) rather than importing the analytics
service's helpers: the two services must stay independent (pyproject's import contracts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_ID_LENGTH = 255
THRESHOLD_KEYS = ("min_ctr", "min_roas")
MAX_NUMBER_CHARACTERS = 40  # of a threshold as written: no real ratio needs more


class Invalid(ValueError):
    """A refused id, body or file; the message says what is wrong, for the client."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Both thresholds as exact decimal text (`0.03`), written to JSON verbatim."""

    min_ctr: str
    min_roas: str

    def to_json(self) -> bytes:
        return f'{{"min_ctr": {self.min_ctr}, "min_roas": {self.min_roas}}}'.encode()


def id_problem(campaign_id: str) -> str | None:
    """Why `campaign_id` can never be stored (CONTRACT.md §1), or None when it can be."""
    if campaign_id == "":
        return "campaign id must not be empty"
    if len(campaign_id) > MAX_ID_LENGTH:
        return f"campaign id is longer than {MAX_ID_LENGTH} characters"
    if "\x00" in campaign_id:
        return "campaign id must not contain a NUL character"
    return None


def _refuse_constant(name: str) -> Any:
    raise Invalid(f"{name} is not a finite number")


def decode_json(content: bytes | str) -> Any:
    """JSON with every number as an exact Decimal; NaN and Infinity refused (Invalid)."""
    try:
        return json.loads(
            content, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
        )
    except RecursionError:
        raise Invalid("JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise Invalid("body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise Invalid(f"body is not valid JSON: {error.msg} at character {error.pos}") from None


def _number_text(key: str, value: Any) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise Invalid(f"'{key}' must be a finite number")
    if value < 0:
        raise Invalid(f"'{key}' must not be negative")
    text = "0" if value.is_zero() else str(value)  # `-0` and `0E-7` are plain 0
    if len(text) > MAX_NUMBER_CHARACTERS:
        raise Invalid(f"'{key}' has more than {MAX_NUMBER_CHARACTERS} characters")
    return text


def parse_thresholds(payload: Any) -> Thresholds:
    """`{"min_ctr": number, "min_roas": number}`, exactly these keys, numbers finite and ≥ 0."""
    if not isinstance(payload, dict):
        raise Invalid("thresholds must be a JSON object")
    unknown = sorted(set(payload) - set(THRESHOLD_KEYS))
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(repr(key) for key in unknown)}")
    missing = [key for key in THRESHOLD_KEYS if key not in payload]
    if missing:
        raise Invalid(f"missing field(s): {', '.join(repr(key) for key in missing)}")
    return Thresholds(
        min_ctr=_number_text("min_ctr", payload["min_ctr"]),
        min_roas=_number_text("min_roas", payload["min_roas"]),
    )


def read_thresholds_file(path: Path) -> dict[str, Thresholds]:
    """campaign id → thresholds from a `benchmarks.json` (CONTRACT.md §1's format), every entry
    checked before any is used; Invalid names the file, the campaign and the reason."""
    try:
        payload = decode_json(path.read_bytes())
    except OSError as error:
        raise Invalid(f"cannot read '{path}': {error.strerror}") from None
    except Invalid as error:
        raise Invalid(f"'{path}': {error}") from None
    if not isinstance(payload, dict):
        raise Invalid(f"'{path}' must hold a JSON object of campaign ids")
    thresholds = {}
    for campaign_id, entry in payload.items():
        problem = id_problem(campaign_id)
        if problem is not None:
            raise Invalid(f"'{path}', campaign {campaign_id[:80]!r}: {problem}")
        try:
            thresholds[campaign_id] = parse_thresholds(entry)
        except Invalid as error:
            raise Invalid(f"'{path}', campaign {campaign_id!r}: {error}") from None
    return thresholds
