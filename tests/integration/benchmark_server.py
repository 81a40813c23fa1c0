"""A real, scriptable benchmark service on 127.0.0.1 for integration tests.

Each test says what the server answers, request by request (`script`), what it answers once
the script is used up (`always`), and what `GET /health` answers (`health`). The server
records the raw path (still percent-encoded) of every request it receives.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    `delay`: seconds to wait before sending anything (headers included).
    `drip`: seconds to wait between body bytes (a slow but never silent server).
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    drip: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, **options: Any) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), **options)


def thresholds_reply(min_ctr: str = "0.03", min_roas: str = "2.5", **options: Any) -> Reply:
    """A valid answer, numbers written verbatim (so `0.03` is exactly what goes on the wire)."""
    body = f'{{"min_ctr": {min_ctr}, "min_roas": {min_roas}}}'.encode()
    return Reply(body=body, **options)


class BenchmarkServer:
    """Threaded HTTP/1.1 server; `start()` binds an ephemeral port, `stop()` releases it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._default = Reply(status=500, body=b'{"error": "no reply scripted"}')
        self._health = Reply(status=200, body=b'{"status": "ok"}')
        self._requests: list[str] = []
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- behaviour, set by the tests -------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Answer the next non-health requests with these replies, in order."""
        with self._lock:
            self._script.extend(replies)

    def always(self, reply: Reply) -> None:
        """Answer with this once the script is used up (initially: a 500)."""
        with self._lock:
            self._default = reply

    def health(self, reply: Reply) -> None:
        with self._lock:
            self._health = reply

    # -- observations ----------------------------------------------------------------------

    @property
    def requests(self) -> list[str]:
        """Raw request paths received so far, `/health` included, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def benchmark_requests(self) -> list[str]:
        return [path for path in self.requests if path != "/health"]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> BenchmarkServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- internals -------------------------------------------------------------------------

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            self._requests.append(path)
            if path == "/health":
                return self._health
            return self._script.popleft() if self._script else self._default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                reply = server._next_reply(self.path)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up first (its timeout)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not reply.drip:
                    self.wfile.write(reply.body)
                    return
                for index in range(len(reply.body)):
                    if server._stopping.wait(reply.drip):
                        return
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


@contextmanager
def running_server() -> Iterator[BenchmarkServer]:
    server = BenchmarkServer().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused, and no other
    process can take it while the context is open."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
