"""A real server process on loopback whose stderr is kept, byte for byte, for log tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import CONTRACT_VARIABLES

OPERATIONS_VARIABLES = (
    "LOG_LEVEL",
    "LOG_FORMAT",
    "METRICS_PORT",
    "METRICS_HOST",
    "METRICS_TOKEN",
    "SCHEDULER_METRICS_PORT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "PROMETHEUS_MULTIPROC_DIR",
)
STARTUP_SECONDS = 90  # generous: several workers start at once on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def analytics_script() -> str:
    script = shutil.which("analytics", path=str(Path(sys.executable).parent))
    assert script is not None, "the analytics console script is not installed"
    return script


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without the service's variables, plus `variables`."""
    dropped = {*CONTRACT_VARIABLES, *OPERATIONS_VARIABLES}
    return {k: v for k, v in os.environ.items() if k.upper() not in dropped} | variables


class ServedProcess:
    """`command` running with stderr read as it comes (a full pipe would block the server)."""

    def __init__(self, command: list[str], env: Mapping[str, str], port: int) -> None:
        self.port = port
        self._process = subprocess.Popen(
            command, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self._stderr = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self._process.stderr
        assert stream is not None
        while chunk := stream.read1(4096):
            self._stderr.extend(chunk)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", errors="backslashreplace")

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not condition():
            assert self._process.poll() is None, f"the server exited: {self.stderr}"
            assert time.monotonic() < deadline, f"{what} not within {STARTUP_SECONDS} s"
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5)
        except httpx.TransportError:
            return False
        return True

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def get_with(self, path: str, key: str | None, request_id: str) -> httpx.Response:
        """GET `path` presenting `key` as a bearer token (none: no header), with an
        X-Request-ID."""
        headers = {"X-Request-ID": request_id}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)

    def stop(self) -> str:
        """SIGTERM (uvicorn shuts down gracefully) and everything it wrote to stderr."""
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self._reader.join(timeout=5)
        return self.stderr


@contextmanager
def served(arguments: list[str], env: Mapping[str, str]) -> Iterator[ServedProcess]:
    """`arguments` with `{port}` replaced by a free port, started and answering /health."""
    port = free_port()
    command = [str(port) if part == "{port}" else part for part in arguments]
    server = ServedProcess(command, env, port)
    try:
        server.wait_until(server.answers, "an answer on /health")
        yield server
    finally:
        server.stop()
