"""`analytics.logs`: the escaping, the formatter and the one configuration dict."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from typing import Any

import pytest

from analytics import logs
from analytics.log_json import JsonFormatter, RequestContextFilter
from analytics.logs import TEXT_FORMAT, EscapingFormatter, escape_controls, logging_config

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\x1f", "\\x1f"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),  # NEL
        ("\x9b", "\\x9b"),  # CSI
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\u202e", "\\u202e"),  # right-to-left override
        ("\u2066", "\\u2066"),
    ],
)
def test_each_control_character_becomes_its_escape(raw: str, escaped: str) -> None:
    assert escape_controls(f"a{raw}b") == f"a{escaped}b"


def test_printable_text_is_left_as_it_is() -> None:
    text = "cmp-ü 日本 émoji 🎯 \\n ~ \xa0 \u200b"

    assert escape_controls(text) == text


def record(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord(
        "analytics.test", logging.WARNING, __file__, 1, message, args, exc_info
    )


def test_the_formatter_writes_time_level_logger_and_message() -> None:
    line = EscapingFormatter(TEXT_FORMAT).format(record("GET %s", "/ok"))

    assert re.fullmatch(rf"{TIME} WARNING analytics\.test: GET /ok", line)


def test_the_formatter_escapes_arguments_and_message_alike() -> None:
    line = EscapingFormatter("%(message)s").format(record("a\nb %s", "c\r\nFORGED\x1b[31m"))

    assert line == "a\\nb c\\r\\nFORGED\\x1b[31m"


def test_the_formatter_leaves_a_traceback_multi_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = EscapingFormatter("%(message)s").format(record("failed\n", exc_info=sys.exc_info()))

    first, *traceback = line.split("\n")
    assert first == "failed\\n"
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1] == "ValueError: boom"


def test_the_text_config_sends_every_logger_through_the_escaping_formatter() -> None:
    config = logging_config("info", "text")

    assert config["formatters"]["text"] == {"()": EscapingFormatter, "fmt": TEXT_FORMAT}
    assert config["handlers"]["stderr"]["formatter"] == "text"
    assert config["handlers"]["stderr"]["filters"] == ["request"]
    assert config["filters"]["request"] == {"()": RequestContextFilter}
    assert config["root"] == {"level": "INFO", "handlers": ["stderr"]}
    assert config["disable_existing_loggers"] is False
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        assert config["loggers"][name] == {"level": "INFO", "handlers": [], "propagate": True}


def test_uvicorn_access_lines_give_way_to_the_services_own() -> None:
    config = logging_config("debug", "text")

    assert config["loggers"]["uvicorn.access"] == {
        "level": "WARNING",
        "handlers": [],
        "propagate": True,
    }


def test_the_json_config_sends_every_logger_through_the_json_formatter() -> None:
    config = logging_config("info", "json")

    assert config["formatters"]["json"] == {"()": JsonFormatter}
    assert config["handlers"]["stderr"]["formatter"] == "json"


@pytest.mark.parametrize(("terminal", "chosen"), [(True, "text"), (False, "json")])
def test_auto_is_text_on_a_terminal_and_json_otherwise(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, chosen: str
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)

    assert logs.resolved_format("auto") == chosen
    assert logging_config("INFO")["handlers"]["stderr"]["formatter"] == chosen


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^unknown log format 'xml' \(expected one of auto"):
        logging_config("INFO", "xml")


@pytest.mark.parametrize(
    ("level", "quiet_level"), [("DEBUG", "DEBUG"), ("INFO", "WARNING"), ("ERROR", "WARNING")]
)
def test_alembic_and_httpx_say_warnings_only_unless_debugging(level: str, quiet_level: str) -> None:
    loggers = logging_config(level)["loggers"]

    assert loggers["alembic"] == {"level": quiet_level}
    assert loggers["httpx"] == {"level": quiet_level}


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^unknown log level 'LOUD' \(expected one of"):
        logging_config("loud")


def test_the_environment_level_is_log_level_else_info(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    assert logs.environment_level() == "INFO"
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert logs.environment_level() == "debug"


def applied(log_format: str) -> str:
    """stderr of a process of its own (dictConfig changes global state) that configured
    logging in `log_format` and logged a uvicorn line with a forged path."""
    script = (
        "import logging; from analytics.logs import configure_logging; "
        f"configure_logging('INFO', '{log_format}'); "
        "logging.getLogger('uvicorn.error').info("
        "'%s - \"%s %s HTTP/%s\" %d', '1.2.3.4:5', 'GET', '/a\\x1b[2J\\nFORGED', '1.1', 200)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stderr


def test_the_applied_text_config_escapes_uvicorn_lines_on_stderr() -> None:
    line = rf'{TIME} INFO uvicorn\.error: 1\.2\.3\.4:5 - "GET /a\\x1b\[2J\\nFORGED HTTP/1\.1" 200'
    assert re.fullmatch(line + "\n", applied("text"))


def test_the_applied_json_config_writes_uvicorn_lines_as_one_json_object() -> None:
    stderr = applied("json")

    [line] = stderr.splitlines()
    assert "\x1b" not in line
    record = json.loads(line)
    assert record["message"] == '1.2.3.4:5 - "GET /a\x1b[2J\nFORGED HTTP/1.1" 200'
    assert (record["level"], record["logger"]) == ("INFO", "uvicorn.error")


def test_logging_is_configured_when_no_handler_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[tuple[str, str]] = []
    monkeypatch.setattr(logs, "configure_logging", lambda *given: applied.append(given))
    monkeypatch.setattr(logging.getLogger(), "handlers", [])

    logs.configure_logging_unless_configured("WARNING", "json")

    assert applied == [("WARNING", "json")]


def test_an_existing_logging_configuration_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[tuple[str, ...]] = []
    monkeypatch.setattr(logs, "configure_logging", lambda *given: applied.append(given))
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])

    logs.configure_logging_unless_configured("WARNING")

    assert applied == []
