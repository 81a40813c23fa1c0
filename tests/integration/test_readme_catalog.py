"""README.md's "Catalog" block run by bash as written, against `analytics serve` on
PostgreSQL with the tenant `acme` of the "Tenants and keys" section: the idempotent retry,
the conditional update and the pagination walk work as the comments say.

Two substitutions only: the port (a free one for 8081) and the walk's page size (2, so that
the seven campaigns take several pages)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_readme_postgres import (
    ROOT,
    _free_port,
    _wait_for_health,
    fresh_database,  # noqa: F401 - a fixture
)

VENV_BIN = Path(sys.executable).parent


def catalog_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("### Catalog", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def _analytics(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(VENV_BIN / "analytics"), *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("jq") is None, reason="the README's walk uses jq")
def test_readme_catalog_block_runs_as_written(fresh_database: str) -> None:  # noqa: F811
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA", "BENCHMARK_"))}
    env |= {"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"}
    env |= {"DATABASE_URL": fresh_database, "SCHEDULER_ENABLED": "false"}
    _analytics(env, "migrate")
    _analytics(env, "tenants", "create", "acme", "--name", "Acme Corp")
    _analytics(env, "load", "data/visible", "--tenant", "acme")
    port = _free_port()
    block = catalog_block()
    assert block.count("8081") == 1
    assert block.count("limit=100") == 1
    block = block.replace("8081", str(port)).replace("limit=100", "limit=2")
    server = subprocess.Popen(
        [str(VENV_BIN / "analytics"), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}", server)
        ran = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout.replace("\r", "")
    posts = [part for part in out.split("HTTP/1.1 ")[1:]]
    assert [post.split("\n", 1)[0] for post in posts] == ["201 Created", "201 Created"]
    first, retry = (post.split("\n\n", 1) for post in posts)
    assert first[1].split("\n", 1)[0] == retry[1].split("\n", 1)[0]  # the same body, replayed
    etags = [line for post in posts for line in post.splitlines() if line.startswith("etag: ")]
    assert len(etags) == 2
    assert etags[0] == etags[1]
    lines = posts[-1].split("\n\n", 1)[1].splitlines()[1:]
    patched = json.loads(lines[0])
    assert (patched["campaign_id"], patched["status"]) == ("cmp-100", "paused")
    assert lines[1] == "412"
    assert json.loads(lines[2]) == {"min_ctr": 0.02, "min_roas": 1.5}
    walked = [json.loads(line)["campaign_id"] for line in lines[3:]]
    campaigns = (ROOT / "data/visible/campaigns.csv").read_text(encoding="utf-8").splitlines()
    assert sorted(walked) == sorted([line.split(",")[0] for line in campaigns[1:]] + ["cmp-100"])
    assert walked[-1] == "cmp-100"  # changed last: synced last
