"""Running the `analytics` command line in process, as a user would read its output."""

from __future__ import annotations

import re
from dataclasses import dataclass

from typer.testing import CliRunner, Result

from analytics.cli import cli

# a text log line, or a JSON one (LOG_FORMAT=auto writes JSON when stderr is no terminal)
LOG_LINE = re.compile(
    r'^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ \S+: |\{"time":")', re.MULTILINE
)


@dataclass(frozen=True)
class Outcome:
    """A command's exit code and output; `stderr` without the log lines (`logs` has them),
    so that a message can be compared exactly whatever the phases logged before it."""

    exit_code: int
    stdout: str
    stderr: str
    logs: str


def invoke(args: list[str], env: dict[str, str] | None = None) -> Outcome:
    result: Result = CliRunner().invoke(cli, args, env=env, prog_name="analytics")
    lines = result.stderr.splitlines(keepends=True)
    logs = [line for line in lines if LOG_LINE.match(line)]
    messages = [line for line in lines if not LOG_LINE.match(line)]
    return Outcome(result.exit_code, result.stdout, "".join(messages), "".join(logs))
