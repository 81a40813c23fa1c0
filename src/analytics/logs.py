"""The one logging configuration of every `analytics` process, and the escaping that keeps
what clients send from forging log lines or reaching a terminal as control codes."""

from __future__ import annotations

import logging
import logging.config
import os
import sys
from typing import Any

from analytics.log_json import JsonFormatter, RequestContextFilter

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("auto", "json", "text")  # LOG_FORMAT; auto: text on a terminal, else JSON
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Chatty libraries, shown at WARNING and above unless LOG_LEVEL is DEBUG: Alembic's
# "Context impl" lines on every schema check, httpx's line per benchmark call.
QUIET_LOGGERS = ("alembic", "httpx", "apscheduler")  # apscheduler: a line per wake-up
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# The service writes one access line per request itself (`analytics.access`, with the
# route template, tenant and request id); uvicorn's would be a second, shown at WARNING only.
UVICORN_ACCESS = "uvicorn.access"

_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
    **{code: f"\\u{code:04x}" for code in (0x2028, 0x2029, *_BIDI_CONTROLS)},
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
}


def escape_controls(text: str) -> str:
    """`text` on one line and inert on a terminal: C0 and C1 controls, DEL, the Unicode
    line and paragraph separators and the bidirectional overrides become escapes
    (`\\n`, `\\x1b`, `\\x85`, `\\u2028`). Backslashes are left as they are."""
    return text.translate(_ESCAPES)


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in the formatted line (message and arguments alike),
    whoever logged it; tracebacks and stack traces stay multi-line text."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


def resolved_format(log_format: str = "auto") -> str:
    """`json` or `text`: `auto` is text when stderr is a terminal, JSON otherwise."""
    log_format = log_format.lower()
    if log_format not in FORMATS:
        raise ValueError(
            f"unknown log format {log_format!r} (expected one of {', '.join(FORMATS)})"
        )
    if log_format == "auto":
        return "text" if sys.stderr.isatty() else "json"
    return log_format


def logging_config(level: str = "INFO", log_format: str = "auto") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: one stderr handler, at `level` for the service,
    uvicorn and the libraries, writing `time level logger: message` lines or JSON objects
    (`log_format`, resolved here: worker processes write what their parent chose). Handed
    to uvicorn as its `log_config` too, so that every worker process applies it."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (expected one of {', '.join(LEVELS)})")
    formatter = resolved_format(log_format)
    quiet_level = "DEBUG" if level == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,  # module loggers exist before this runs
        "formatters": {
            "text": {"()": EscapingFormatter, "fmt": TEXT_FORMAT},
            "json": {"()": JsonFormatter},
        },
        "filters": {"request": {"()": RequestContextFilter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": formatter,
                "filters": ["request"],
            },
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own handlers replaced by the root's, its levels by LOG_LEVEL
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in UVICORN_LOGGERS
            },
            UVICORN_ACCESS: {"level": "WARNING", "handlers": [], "propagate": True},
            **{name: {"level": quiet_level} for name in QUIET_LOGGERS},
        },
    }


def environment_level() -> str:
    """LOG_LEVEL, for commands that read no other setting; INFO when unset."""
    return os.environ.get("LOG_LEVEL") or "INFO"


def environment_format() -> str:
    """LOG_FORMAT, for commands that read no other setting; auto when unset."""
    return os.environ.get("LOG_FORMAT") or "auto"


def configure_logging(level: str = "INFO", log_format: str = "auto") -> None:
    logging.config.dictConfig(logging_config(level, log_format))


def configure_logging_unless_configured(level: str = "INFO", log_format: str = "auto") -> None:
    """Apply the configuration only when nothing has yet: a bare `uvicorn --factory` run
    leaves the root logger without handlers, a `--log-config` of the operator's does not."""
    if not logging.getLogger().handlers:
        configure_logging(level, log_format)
