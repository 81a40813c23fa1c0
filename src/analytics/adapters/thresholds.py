"""Validation of benchmark thresholds, wherever they come from (HTTP or a fixture file)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from analytics.domain.models import Thresholds

THRESHOLD_KEYS = ("min_ctr", "min_roas")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def decode_json(content: bytes | str) -> Any:
    """JSON with every number as an exact Decimal; NaN and Infinity are refused.

    Every failure is a ValueError, a document nested too deeply included."""
    try:
        return json.loads(
            content, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
        )
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_thresholds(payload: Any) -> Thresholds:
    """Thresholds from a decoded JSON object, or ValueError saying what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("thresholds must be a JSON object")
    values = {}
    for key in THRESHOLD_KEYS:
        if key not in payload:
            raise ValueError(f"'{key}' is missing")
        value = payload[key]
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"'{key}' is not a finite number")
        if value < 0:
            raise ValueError(f"'{key}' is negative")
        values[key] = value
    return Thresholds(min_ctr=values["min_ctr"], min_roas=values["min_roas"])
