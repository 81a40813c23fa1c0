"""`analytics.log_json`: one JSON object per line, inert on a terminal, with the request's
id on every line logged while it is answered."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import pytest

from analytics.log_json import (
    JsonFormatter,
    RequestContext,
    RequestContextFilter,
    enter_request,
    leave_request,
    note_tenant,
)

FORGED = "a\r\nFORGED\x1b[31m\x85\u2028\u202e\x7fz"


def record(message: str, *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("analytics.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_line_has_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("GET %s", "/ok"))

    parsed = json.loads(line)
    assert set(parsed) == {"time", "level", "logger", "message"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", parsed["time"])
    assert (parsed["level"], parsed["logger"], parsed["message"]) == (
        "WARNING",
        "analytics.test",
        "GET /ok",
    )


def test_control_characters_are_escaped_and_come_back_whole() -> None:
    line = JsonFormatter().format(record("id %s", FORGED))

    assert [c for c in line if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0] == []
    assert "\u2028" not in line
    assert "\u202e" not in line
    assert json.loads(line)["message"] == f"id {FORGED}"


def test_access_fields_are_fields_of_their_own() -> None:
    fields = {"method": "GET", "route": "/a/{id}", "path": "/a/1", "status": 200}
    line = JsonFormatter().format(record("x", **fields, duration_ms=1.5, tenant="acme"))

    parsed = json.loads(line)
    assert {key: parsed[key] for key in (*fields, "duration_ms", "tenant")} == {
        **fields,
        "duration_ms": 1.5,
        "tenant": "acme",
    }


def test_a_traceback_is_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.LogRecord(
            "analytics.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    line = JsonFormatter().format(made)

    assert "\n" not in line
    assert json.loads(line)["exception"].endswith("ValueError: boom")


def test_lines_inside_a_request_carry_its_id() -> None:
    inside, outside = record("in"), record("out")
    context = RequestContext("req-1")
    token = enter_request(context)
    try:
        RequestContextFilter().filter(inside)
        note_tenant("acme")
    finally:
        leave_request(token)
    RequestContextFilter().filter(outside)

    assert json.loads(JsonFormatter().format(inside))["request_id"] == "req-1"
    assert "request_id" not in json.loads(JsonFormatter().format(outside))
    assert context.tenant == "acme"


def test_a_tenant_noted_outside_a_request_goes_nowhere() -> None:
    note_tenant("acme")  # no error, nothing kept


@pytest.mark.parametrize("value", [b"bytes", {"a": 1}])
def test_values_json_cannot_encode_become_text(value: object) -> None:
    assert json.loads(JsonFormatter().format(record("%s", value)))["message"] == str(value)
