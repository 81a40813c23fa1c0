"""`make stack`: the docker-compose.yml topology as local processes on loopback, checked.

Reads the services of docker-compose.yml (ops/topology.py), starts them in their
`depends_on` order against a fresh PostgreSQL database and a Redis database number, runs the
one-shot ones to completion, waits for every healthcheck (the compose file's own commands),
checks every endpoint through the running stack, and stops everything (SIGTERM, then
SIGKILL after a grace period). Exit 0 when every check passed.

    python -m ops.stack [--postgres URL] [--redis URL] [--keep-database]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ops.topology import ROOT, Loopback, Service, read_services

Report = Callable[[str], None]
HEALTHY_WITHIN = 120.0  # seconds for a service's healthcheck to pass (a busy 2-core machine)
ONE_SHOT_WITHIN = 300.0
STOP_GRACE = 20.0
# Variables of the analytics and benchmark services: none of the caller's reach the stack.
OWN_VARIABLE_PREFIXES = ("BENCHMARK", "ANALYTICS_", "SCHEDULE", "BASELINE_", "DATABASE_")
OWN_VARIABLES = {"DATA_DIR", "DATASET_NAME", "REDIS_URL", "ANONYMOUS_TENANT", "LOG_LEVEL",
                 "CURSOR_SECRET", "CORS_ORIGINS", "SCAN_BATCH_SIZE"}  # fmt: skip


class StackFailed(Exception):
    """A service did not start, finish or become healthy, or an endpoint check failed."""


def base_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name not in OWN_VARIABLES and not name.startswith(OWN_VARIABLE_PREFIXES)
    }


@dataclass
class Stack:
    loopback: Loopback
    workdir: Path
    report: Report
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    healthy: set[str] = field(default_factory=set)
    exit_codes: dict[str, int] = field(default_factory=dict)

    def environment(self, service: Service) -> dict[str, str]:
        return base_environment() | self.loopback.environment(service)

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_path(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def spawn(self, service: Service) -> subprocess.Popen[bytes]:
        with self.log_path(service.name).open("ab") as log:
            return subprocess.Popen(
                self.loopback.command(service), env=self.environment(service), cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole, workers too
            )  # fmt: skip

    def run_once(self, service: Service) -> None:
        started = time.monotonic()
        process = self.spawn(service)
        try:
            code = process.wait(timeout=ONE_SHOT_WITHIN)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise StackFailed(
                f"{service.name} did not finish within {ONE_SHOT_WITHIN:g} s"
            ) from None
        if code != 0:
            raise StackFailed(f"{service.name} exited {code}:\n{self.log_tail(service.name)}")
        self.report(f"{service.name}: completed in {time.monotonic() - started:.1f} s")

    def start(self, service: Service) -> None:
        self.processes[service.name] = self.spawn(service)
        self.report(f"{service.name}: started (pid {self.processes[service.name].pid})")

    def wait_healthy(self, service: Service) -> None:
        check = self.loopback.healthcheck(service)
        if check is None or service.name in self.healthy:
            return
        process = self.processes[service.name]
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise StackFailed(
                    f"{service.name} exited {process.returncode}:\n{self.log_tail(service.name)}"
                )
            result = subprocess.run(
                check, env=self.environment(service), cwd=ROOT, capture_output=True, timeout=60,
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                self.healthy.add(service.name)
                self.report(f"{service.name}: healthy after {time.monotonic() - started:.1f} s")
                return
            if time.monotonic() - started > HEALTHY_WITHIN:
                raise StackFailed(
                    f"{service.name} not healthy within {HEALTHY_WITHIN:g} s: "
                    f"{result.stderr.decode(errors='replace')[-500:]}\n{self.log_tail(service.name)}"
                )
            time.sleep(0.5)

    def stop_all(self) -> None:
        for name, process in reversed(self.processes.items()):
            self.exit_codes[name] = code = _stop(process)
            how = "by SIGTERM, after its graceful shutdown" if code == -signal.SIGTERM else ""
            self.report(f"{name}: stopped (exit {code}{how and ' ' + how})")


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM to the process group, SIGKILL after STOP_GRACE; the exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def _ready(stack: Stack, service: Service) -> None:
    """Wait for what `service` depends on, as compose would."""
    for name, condition in service.depends_on.items():
        if stack.loopback.services[name].provided:
            continue  # the machine's servers: the caller checked them
        if condition == "service_healthy":
            stack.wait_healthy(stack.loopback.services[name])


@contextmanager
def running_stack(
    *, database_url: str, redis_url: str, workdir: Path, report: Report = print
) -> Iterator[Stack]:
    """Every service of docker-compose.yml started (one-shots run to completion), all
    healthy; stopped on exit, whatever happened."""
    services = read_services()
    loopback = Loopback(services, database_url=database_url, redis_url=redis_url, workdir=workdir)
    stack = Stack(loopback, workdir, report)
    one_shots = {
        name
        for service in services.values()
        for name, condition in service.depends_on.items()
        if condition == "service_completed_successfully"
    }
    try:
        for service in services.values():
            if service.provided:
                continue
            _ready(stack, service)
            if service.name in one_shots:
                stack.run_once(service)
            else:
                stack.start(service)
        for name in stack.processes:
            stack.wait_healthy(services[name])
        yield stack
    finally:
        stack.stop_all()


def main(argv: list[str] | None = None) -> int:
    from ops.checks import check_endpoints, check_provided, fresh_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    arguments = parser.parse_args(argv)
    name = f"analytics_stack_{uuid.uuid4().hex[:8]}"
    try:
        with (
            fresh_database(arguments.postgres, name) as database_url,
            tempfile.TemporaryDirectory(prefix="analytics-stack-") as workdir,
        ):
            check_provided(database_url, arguments.redis, report=print)
            with running_stack(
                database_url=database_url, redis_url=arguments.redis, workdir=Path(workdir)
            ) as stack:
                check_endpoints(stack, report=print)
    except StackFailed as error:
        print(f"stack FAILED: {error}", file=sys.stderr)
        return 1
    print("stack OK: every service healthy, every endpoint answered, everything stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
