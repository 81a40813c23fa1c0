"""The one logging configuration of every `analytics` process, and the escaping that keeps
what clients send from forging log lines or reaching a terminal as control codes."""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATTER = "text"  # the formatter every handler uses; a JSON one would be another entry
# Chatty libraries, shown at WARNING and above unless LOG_LEVEL is DEBUG: Alembic's
# "Context impl" lines on every schema check, httpx's line per benchmark call.
QUIET_LOGGERS = ("alembic", "httpx", "apscheduler")  # apscheduler: a line per wake-up
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

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


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: one stderr handler, `time level logger: message`
    lines at `level` for the service, uvicorn and the libraries. Handed to uvicorn as its
    `log_config` too, so that every worker process applies it."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (expected one of {', '.join(LEVELS)})")
    quiet_level = "DEBUG" if level == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,  # module loggers exist before this runs
        "formatters": {
            "text": {"()": EscapingFormatter, "fmt": TEXT_FORMAT},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": FORMATTER,
            },
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own handlers replaced by the root's, its levels by LOG_LEVEL
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in UVICORN_LOGGERS
            },
            **{name: {"level": quiet_level} for name in QUIET_LOGGERS},
        },
    }


def environment_level() -> str:
    """LOG_LEVEL, for commands that read no other setting; INFO when unset."""
    return os.environ.get("LOG_LEVEL") or "INFO"


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))


def configure_logging_unless_configured(level: str = "INFO") -> None:
    """Apply the configuration only when nothing has yet: a bare `uvicorn --factory` run
    leaves the root logger without handlers, a `--log-config` of the operator's does not."""
    if not logging.getLogger().handlers:
        configure_logging(level)
