"""Two `analytics serve` processes on one PostgreSQL database and one Redis, tenants with
keys, loads through the CLI, and a Redis server of the test's own that it can kill."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from sqlalchemy import Engine

from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.domain.access import Role
from tests.conftest import require
from tests.integration.served_process import (
    ServedProcess,
    analytics_script,
    clean_environment,
    free_port,
    served,
)
from tests.support import DataDir


def small_data(name: str, clicks: int = 5) -> DataDir:
    return DataDir(
        campaigns=[("cmp-1", name), ("cmp-2", f"{name} two")],
        creators=[("crt-1", "Ann"), ("crt-2", "Bob")],
        metrics=[
            ("2026-01-01", "cmp-1", "crt-1", 100, 1, 0, "10.00", "1.00"),
            ("2026-01-02", "cmp-1", "crt-2", 100, clicks, 1, "10.00", "50.00"),
        ],
        benchmarks={"cmp-1": {"min_ctr": 0.03, "min_roas": 1.0}},
    )


def cli_load(database_url: str, directory: Path, tenant_id: str) -> None:
    """`analytics load DIR --tenant ID`, as an operator runs it: a process of its own."""
    done = subprocess.run(
        [analytics_script(), "load", str(directory), "--tenant", tenant_id],
        env=clean_environment(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@dataclass
class Keys:
    tenant_id: str
    viewer: dict[str, str]
    editor: dict[str, str]
    admin: dict[str, str]

    def new(self, engine: Engine, role: Role) -> dict[str, str]:
        _, secret = SqlAlchemyAccessStore(engine).create_key(self.tenant_id, role)
        return {"Authorization": f"Bearer {secret}"}


def new_tenant(engine: Engine, database_url: str, data: DataDir, directory: Path) -> Keys:
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    SqlAlchemyAccessStore(engine).create_tenant(tenant_id)
    cli_load(database_url, data.write(directory), tenant_id)
    keys = Keys(tenant_id, {}, {}, {})
    keys.viewer = keys.new(engine, Role.VIEWER)
    keys.editor = keys.new(engine, Role.EDITOR)
    keys.admin = keys.new(engine, Role.ADMIN)
    return keys


@contextmanager
def two_servers(**variables: str) -> Iterator[tuple[ServedProcess, ServedProcess]]:
    """Two single-worker `analytics serve` processes with the same environment."""
    env = clean_environment(SCHEDULER_ENABLED="false", ANONYMOUS_TENANT="", **variables)
    command = [analytics_script(), "serve", "--host", "127.0.0.1", "--port", "{port}"]
    with ExitStack() as stack:
        yield stack.enter_context(served(command, env)), stack.enter_context(served(command, env))


def get(server: ServedProcess, path: str, headers: dict[str, str], **params: object):
    return httpx.get(
        f"http://127.0.0.1:{server.port}{path}", headers=headers, params=params, timeout=10
    )


class OwnRedis:
    """A `redis-server` on a free loopback port, without persistence, that a test may kill
    (SIGKILL) and start again on the same port without touching the machine's Redis."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed: the outage test needs one")
        assert binary is not None
        self._binary = binary
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                assert self._process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None
