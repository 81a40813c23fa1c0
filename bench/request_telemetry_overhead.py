"""Per-request cost of the request telemetry (request id, metrics, access line): the same
app driven in process through ASGI with and without `RequestTelemetryMiddleware`.

    .venv/bin/python bench/request_telemetry_overhead.py [REQUESTS_PER_ROUND]

Logging is configured as served (JSON lines, INFO) into /dev/null, so the access line's
formatting and write are counted; times are CPU time of this process (the machine is
shared), best of 7 rounds; `--no-access-log` leaves the line out (LOG_LEVEL=WARNING).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from analytics import logs
from analytics.api.app import create_app
from analytics.api.observability import RequestTelemetryMiddleware
from analytics.settings import Settings

ROUNDS = 7
PATHS = {"unmatched 404": "/no/such/path", "performance 200": "/campaigns/cmp-001/performance"}


async def drive(app: object, path: str, count: int) -> float:
    """CPU seconds per request, answering `count` GETs of `path` one after another."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        pass

    started = time.process_time()  # CPU time: other processes' load does not count
    for _ in range(count):
        await app(dict(scope), receive, send)  # type: ignore[operator]
    return (time.process_time() - started) / count


def without_telemetry(app: object) -> object:
    app.user_middleware = [  # type: ignore[attr-defined]
        entry
        for entry in app.user_middleware
        if entry.cls is not RequestTelemetryMiddleware  # type: ignore[attr-defined]
    ]
    app.middleware_stack = None  # type: ignore[attr-defined]  # rebuilt on the next call
    return app


async def trivial(scope: object, receive: object, send: object) -> None:
    """An app doing nothing but answer: what wraps it is all that is measured."""
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"", "more_body": False})  # type: ignore[operator]


async def main(count: int, level: str) -> None:
    bare, wrapped = [], []
    for _ in range(ROUNDS):
        bare.append(await drive(trivial, "/x", count))
        wrapped.append(await drive(RequestTelemetryMiddleware(trivial), "/x", count))
    a, b = min(wrapped), min(bare)
    print(f"middleware alone LOG_LEVEL={level:7} {(a - b) * 1e6:6.1f} µs per request (best round)")
    settings = Settings(data_dir=Path("data/visible"), scheduler_enabled=False)
    measured, plain = create_app(settings), without_telemetry(create_app(settings))
    for name, path in PATHS.items():
        await drive(measured, path, 200)  # warm up both
        await drive(plain, path, 200)
        with_mw, without = [], []
        for _ in range(ROUNDS):
            with_mw.append(await drive(measured, path, count))
            without.append(await drive(plain, path, count))
        a, b = min(with_mw), min(without)  # best rounds: the least disturbed by other load
        print(
            f"{name:16} LOG_LEVEL={level:7} with {a * 1e6:8.1f} µs  without {b * 1e6:8.1f} µs"
            f"  overhead {(a - b) * 1e6:6.1f} µs per request"
        )


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    level = "WARNING" if "--no-access-log" in sys.argv else "INFO"
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  # the log lines are written, then dropped
    logs.configure_logging(level, "json")
    asyncio.run(main(int(arguments[0]) if arguments else 2000, level))
