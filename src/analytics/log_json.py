"""JSON log lines, and what a request adds to every line logged while it is answered.

One JSON object per line: `time` (UTC, RFC 3339 with milliseconds), `level`, `logger`,
`message`, then `request_id` for a line logged during a request, the access line's
fields (`method`, `route`, `path`, `status`, `duration_ms`, `tenant`), and `exception`
(the traceback, one string) when there is one. Control characters cannot break a line:
JSON escapes C0 controls, and C1 controls, DEL, the Unicode line separators and the
bidirectional overrides are written as `\\uXXXX` escapes too.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextvars import ContextVar
from dataclasses import dataclass

import orjson

# Attributes a record may carry (`extra=`) that a JSON line shows as fields of their own.
FIELDS = ("method", "route", "path", "status", "duration_ms", "tenant")
_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_JSON_ESCAPES = {
    code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029, *_BIDI_CONTROLS)
}


@dataclass(slots=True)
class RequestContext:
    """What the access line and every line of a request share; the tenant is filled in
    once the caller is authenticated."""

    request_id: str
    tenant: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("analytics_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def enter_request(context: RequestContext) -> object:
    """Make `context` the current request's; the token for `leave_request`."""
    return _current.set(context)


def leave_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def note_tenant(tenant_id: str) -> None:
    """The authenticated caller's tenant, for the request's access line."""
    context = _current.get()
    if context is not None:
        context.tenant = tenant_id


class RequestContextFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context is not None and not hasattr(record, "request_id"):
            record.request_id = context.request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        line: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = orjson.dumps(line, default=str).decode()
        if text.isascii() and "\x7f" not in text:
            return text  # the usual line: nothing for the table below to escape
        return text.translate(_JSON_ESCAPES)
