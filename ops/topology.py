"""docker-compose.yml read as a list of local processes: the same commands, environment,
healthchecks and start order, with container addresses turned into loopback ones.

The translation is the whole difference between the containers and `make stack`:
- a service with an `image:` and no `build:` (PostgreSQL, Redis) is provided by the machine:
  its URLs in other services' environment become the local database or Redis URL given;
- `http://<service>:<port>` becomes `http://127.0.0.1:<a free local port>`, and that
  service's `--port`, `--host` and healthcheck address follow;
- a named volume's mount point becomes a directory of the stack's work directory;
- `analytics` and `python` are this interpreter's.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    environment: dict[str, str]
    depends_on: dict[str, str]  # service → condition
    healthcheck: list[str] | None
    port: int | None  # the container port its command listens on (`--port N`)
    volumes: dict[str, str] = field(default_factory=dict)  # mount point → volume name
    provided: bool = False  # PostgreSQL, Redis: the machine's own servers


_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `$$`, from `variables`."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return variables.get(match.group(1)) or (match.group(2) or "")

    return _VARIABLE.sub(value, text)


def _command(value: Any) -> list[str]:
    if value is None:
        return []
    return value.split() if isinstance(value, str) else [str(part) for part in value]


def _depends_on(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return dict.fromkeys(value, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in (value or {}).items()}


def _healthcheck(value: Any) -> list[str] | None:
    if not value or value.get("disable"):
        return None
    test = value["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *rest = test
    return ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest


def _port(command: list[str]) -> int | None:
    return int(command[command.index("--port") + 1]) if "--port" in command else None


def _volumes(value: Any) -> dict[str, str]:
    mounts = {}
    for volume in value or []:
        source, _, target = str(volume).partition(":")
        mounts[target.split(":")[0]] = source
    return mounts


def read_services(path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """The compose file's services, in a start order that honours `depends_on`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    services = {}
    for name, spec in document["services"].items():
        command = _command(spec.get("command"))
        services[name] = Service(
            name=name,
            command=command,
            environment={k: "" if v is None else str(v) for k, v in _environment(spec).items()},
            depends_on=_depends_on(spec.get("depends_on")),
            healthcheck=_healthcheck(spec.get("healthcheck")),
            port=_port(command),
            volumes=_volumes(spec.get("volumes")),
            provided="image" in spec and "build" not in spec,
        )
    return {name: services[name] for name in _start_order(services)}


def _environment(spec: dict[str, Any]) -> dict[str, Any]:
    value = spec.get("environment") or {}
    if isinstance(value, list):
        return dict(item.partition("=")[::2] for item in value)
    return value


def _start_order(services: dict[str, Service]) -> list[str]:
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"depends_on cycle: {' → '.join((*path, name))}")
        if name not in order:
            for dependency in services[name].depends_on:
                visit(dependency, (*path, name))
            order.append(name)

    for name in services:
        visit(name, ())
    return order


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Loopback:
    """The translation of container addresses, ports, volumes and programs to local ones."""

    def __init__(
        self,
        services: dict[str, Service],
        *,
        database_url: str,
        redis_url: str,
        workdir: Path,
    ) -> None:
        self.services = services
        self.ports = {s.name: free_port() for s in services.values() if s.port and not s.provided}
        # Prometheus listeners (`*METRICS_PORT` variables), moved to free local ports too
        self.metrics_ports = {
            s.name: free_port()
            for s in services.values()
            if any(key.endswith("METRICS_PORT") for key in s.environment)
        }
        self._provided = {"postgres": database_url, "redis": redis_url}
        self._workdir = workdir
        self._bin = Path(sys.executable).parent

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def _value(self, text: str, service: Service) -> str:
        text = interpolate(text, dict(os.environ))
        for mount, volume in service.volumes.items():
            if mount in text:
                local = self._workdir / volume
                local.mkdir(parents=True, exist_ok=True)
                text = text.replace(mount, str(local))
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return text
        if host in self.services and self.services[host].provided:
            scheme = urlsplit(text).scheme.split("+")[0]
            provided = next(u for u in self._provided.values() if u.startswith(scheme))
            return provided
        if host in self.ports:
            original = f"{host}:{self.services[host].port}"
            return text.replace(original, f"127.0.0.1:{self.ports[host]}")
        return text

    def _program(self, argument: str) -> str:
        if argument == "python":
            return sys.executable
        if argument == "analytics":
            found = shutil.which("analytics", path=str(self._bin))
            if found is None:
                raise FileNotFoundError(f"no `analytics` script beside {sys.executable}")
            return found
        return argument

    def command(self, service: Service) -> list[str]:
        command = [self._value(part, service) for part in service.command]
        command[0] = self._program(command[0])
        for option, value in (
            ("--host", "127.0.0.1"),
            ("--port", str(self.ports.get(service.name))),
        ):
            if option in command:
                command[command.index(option) + 1] = value
        return command

    def environment(self, service: Service) -> dict[str, str]:
        environment = {}
        for key, value in service.environment.items():
            if key.endswith("METRICS_PORT"):
                value = str(self.metrics_ports[service.name])
            elif key.endswith("_HOST") and value == "0.0.0.0":  # noqa: S104 (compared, not bound)
                value = "127.0.0.1"  # every listener of the proof on loopback only
            environment[key] = self._value(value, service)
        return environment

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def healthcheck(self, service: Service) -> list[str] | None:
        if service.healthcheck is None:
            return None
        check = [self._value(part, service) for part in service.healthcheck]
        if service.name in self.ports:
            local = f"127.0.0.1:{self.ports[service.name]}"
            check = [part.replace(f"127.0.0.1:{service.port}", local) for part in check]
        check[0] = self._program(check[0])
        return check
