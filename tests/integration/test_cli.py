"""The `analytics` command line: help, version, exit codes, load --check, migrate, datasets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from analytics import __version__
from analytics.adapters import migrations
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import check_dataset
from analytics.adapters.load_ledger import LedgerEntry
from analytics.cli import ledger_table
from tests.cli_support import invoke
from tests.support import VISIBLE_DATA, DataDir

HEAD = migrations.head_revision()


BROKEN = DataDir(
    campaigns=[("cmp-1", "One")],
    creators=[("crt-1", "Ann")],
    metrics=[("2026-01-01", "cmp-9", "crt-1", 1, 1, 1, "1.00", None)],
)


def analytics(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `analytics` script as a real process."""
    script = shutil.which("analytics", path=str(Path(sys.executable).parent))
    assert script is not None, "the analytics console script is not installed"
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [script, *args], env=environment, capture_output=True, text=True, timeout=60
    )


# --- help and version ---------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    result = invoke(["--version"])
    assert (result.exit_code, result.stdout) == (0, f"analytics {__version__}\n")


@pytest.mark.parametrize("command", [[], ["load"], ["migrate"], ["datasets"], ["serve"]])
def test_help_has_no_template_artefacts(command: list[str]) -> None:
    result = invoke([*command, "--help"])
    assert result.exit_code == 0
    for artefact in ("{", "}", "<bool>"):
        assert artefact not in result.stdout, artefact


def test_load_usage_names_its_argument_plainly() -> None:
    result = invoke(["load", "--help"])
    assert result.stdout.splitlines()[0] == "Usage: analytics load [OPTIONS] DATA_DIR"


def test_missing_argument_is_a_usage_error() -> None:
    result = invoke(["load"])
    assert result.exit_code == 2
    assert "Usage: analytics load [OPTIONS] DATA_DIR" in result.stderr
    assert "Missing argument 'DATA_DIR'" in result.stderr


def test_migrate_help_documents_revision_and_postgres_only() -> None:
    shown = invoke(["migrate", "--help"]).stdout
    assert "--revision REVISION" in shown
    assert "head, or a revision id" in shown
    assert "--downgrade" in shown
    assert "duckdb:///path" not in shown


# --- load --check ---------------------------------------------------------------------------


def test_check_accepts_a_valid_directory_without_a_database() -> None:
    result = invoke(["load", "--check", str(VISIBLE_DATA)], env={"DATABASE_URL": ""})
    assert result.exit_code == 0
    assert result.stdout.startswith(
        f"data directory '{VISIBLE_DATA}' is valid: 6 campaigns, 6 creators, 23 metric rows "
    )


def test_check_refuses_with_the_load_error_report_and_exit_1(tmp_path: Path) -> None:
    broken = BROKEN.write(tmp_path / "broken")
    result = invoke(["load", "--check", str(broken)])
    with pytest.raises(DatasetRefused) as refused:
        check_dataset(broken)
    assert result.exit_code == 1
    assert result.stderr == refused.value.summary() + "\n"
    assert "line 2, column 'campaign_id': unknown id 'cmp-9'" in result.stderr


def test_check_of_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(["load", "--check", str(tmp_path / "nowhere")])
    assert (result.exit_code, result.stderr) == (
        2,
        f"'{tmp_path / 'nowhere'}' is not a directory\n",
    )


# --- exit codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["load", str(VISIBLE_DATA)], ["datasets"]],
    ids=["migrate", "load", "datasets"],
)
def test_unreachable_database_is_one_line_and_exit_3(command: list[str], dead_port: int) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{dead_port}/analytics"
    result = invoke(command, env={"DATABASE_URL": url})
    assert result.exit_code == 3
    assert result.stderr.startswith(f"cannot connect to the database {url}: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["load", str(VISIBLE_DATA)], ["datasets"]])
def test_database_url_of_another_kind_is_a_configuration_error(command: list[str]) -> None:
    result = invoke(command, env={"DATABASE_URL": "mysql://db/analytics"})
    assert result.exit_code == 2
    assert result.stderr == (
        "configuration error: --database-url: unsupported database 'mysql' "
        "(postgresql+psycopg://… or duckdb:///…)\n"
    )


@pytest.mark.parametrize("command", [["load", str(VISIBLE_DATA)], ["datasets"], ["migrate"]])
def test_database_commands_without_a_database_url_are_usage_errors(command: list[str]) -> None:
    result = invoke(command, env={"DATABASE_URL": ""})
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.stderr


def test_load_of_refused_data_exits_1(loadable_url: str, tmp_path: Path) -> None:
    broken = BROKEN.write(tmp_path / "broken")
    result = invoke(["load", str(broken)], env={"DATABASE_URL": loadable_url})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"data directory '{broken}' refused (1 error):\n")


def test_database_failure_during_a_load_exits_3_in_one_line(
    loadable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def connection_lost(*args: object, **options: object) -> None:
        raise OperationalError("SELECT", {}, Exception("server closed the connection\ndetail"))

    # The explorer's rollups: built after the copy by either path (bulk or Python).
    monkeypatch.setattr("analytics.adapters.star_loads.fill_rollups", connection_lost)
    result = invoke(["load", str(VISIBLE_DATA)], env={"DATABASE_URL": loadable_url})
    assert (result.exit_code, result.stderr) == (
        3,
        "database error, nothing changed: server closed the connection\n",
    )


# --- migrate --------------------------------------------------------------------------------


def test_migrate_against_a_missing_database_is_one_line_exit_3_as_a_process(
    empty_postgres: str,
) -> None:
    missing = empty_postgres.rsplit("/", 1)[0] + "/analytics_cli_no_such_database"
    result = analytics("migrate", env={"DATABASE_URL": missing})
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"cannot connect to the database {missing}: connection failed: connection to server "
        f'at "127.0.0.1", port 5432 failed: FATAL:  database '
        '"analytics_cli_no_such_database" does not exist'
    ]


def test_migrate_refuses_an_unknown_revision_in_one_line() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/unused"
    result = invoke(["migrate", "--revision", "bogus"], env={"DATABASE_URL": url})
    assert (result.exit_code, result.stderr) == (
        2,
        f"unknown revision 'bogus': expected head or one of {', '.join(migrations.revisions())}\n",
    )


def test_migrate_refuses_a_duckdb_url() -> None:
    result = invoke(["migrate"], env={"DATABASE_URL": "duckdb:///x.duckdb"})
    assert result.exit_code == 2
    assert result.stderr == "migrate needs a PostgreSQL --database-url (or DATABASE_URL)\n"


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return migrations.current_revision(engine)
    finally:
        engine.dispose()


def test_migrate_upgrades_step_by_step_then_says_nothing_to_do(empty_postgres: str) -> None:
    env = {"DATABASE_URL": empty_postgres}
    first = invoke(["migrate", "--revision", "0002"], env=env)
    rest = invoke(["migrate"], env=env)
    again = invoke(["migrate"], env=env)
    assert first.stdout == "schema upgraded from empty to 0002\n"
    assert rest.stdout == f"schema upgraded from revision 0002 to {HEAD}\n"
    assert (again.exit_code, again.stdout) == (
        0,
        f"schema already at revision {HEAD}: nothing to do\n",
    )


def test_migrate_to_an_older_revision_is_refused_without_downgrade(empty_postgres: str) -> None:
    env = {"DATABASE_URL": empty_postgres}
    invoke(["migrate"], env=env)
    refused = invoke(["migrate", "--revision", "0002"], env=env)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"database schema is at revision {HEAD}, newer than 0002: nothing done "
        "(add --downgrade to go down; it drops what newer revisions added)\n"
    )
    assert _revision(empty_postgres) == HEAD


def test_migrate_with_downgrade_goes_down_to_the_older_revision(empty_postgres: str) -> None:
    env = {"DATABASE_URL": empty_postgres}
    invoke(["migrate"], env=env)
    result = invoke(["migrate", "--revision", "0002", "--downgrade"], env=env)
    assert (result.exit_code, result.stdout) == (
        0,
        f"schema downgraded from revision {HEAD} to 0002\n",
    )
    assert _revision(empty_postgres) == "0002"


def test_migrate_refuses_a_schema_from_a_newer_release(empty_postgres: str) -> None:
    env = {"DATABASE_URL": empty_postgres}
    invoke(["migrate"], env=env)
    engine = create_engine(empty_postgres)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    result = invoke(["migrate"], env=env)
    assert (result.exit_code, result.stderr) == (
        2,
        "database schema is at revision '0099', which this version does not define "
        "(migrated by a newer release?)\n",
    )


# --- datasets -------------------------------------------------------------------------------


def test_datasets_lists_the_ledger_newest_first(loadable_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": loadable_url}
    empty = invoke(["datasets"], env=env)
    other = DataDir(campaigns=[("c", "C")], creators=[("k", "K")]).write(tmp_path / "other")
    for args in (["load", str(VISIBLE_DATA)], ["load", str(other), "--dataset", "second"]):
        assert invoke(args, env=env).exit_code == 0
    listed = invoke(["datasets"], env=env)
    assert (empty.exit_code, empty.stdout) == (0, "no dataset loaded yet\n")
    lines = listed.stdout.splitlines()
    assert lines[0] == (
        "tenant   dataset  loaded at (UTC)      metric rows  checksum      loaded by"
    )
    assert [line.split()[:2] for line in lines[1:]] == [
        ["default", "second"],
        ["default", "visible"],
    ]
    assert lines[2].split()[4:6] == ["23", lines[2].split()[5]]
    assert len(lines[2].split()[5]) == 12


def test_datasets_with_limit_shows_the_newest_only(loadable_url: str) -> None:
    env = {"DATABASE_URL": loadable_url}
    invoke(["load", str(VISIBLE_DATA), "--dataset", "one"], env=env)
    invoke(["load", str(VISIBLE_DATA), "--dataset", "two"], env=env)
    listed = invoke(["datasets", "--limit", "1"], env=env)
    assert [line.split()[1] for line in listed.stdout.splitlines()] == ["dataset", "two"]


def test_datasets_on_an_unmigrated_postgres_says_to_migrate(empty_postgres: str) -> None:
    result = invoke(["datasets"], env={"DATABASE_URL": empty_postgres})
    assert (result.exit_code, result.stderr) == (
        2,
        "database has no load ledger: run `analytics migrate` first\n",
    )


def test_datasets_on_a_missing_duckdb_file_is_exit_3(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'none.duckdb'}"
    result = invoke(["datasets"], env={"DATABASE_URL": url})
    assert result.exit_code == 3
    assert result.stderr.startswith(f"cannot connect to the database {url}: ")


def test_ledger_table_aligns_columns_and_shortens_checksums() -> None:
    entry = LedgerEntry(
        load_id=2,
        tenant_id="acme",
        dataset_name="spring",
        loaded_at=datetime(2026, 3, 1, 9, 5, 7, tzinfo=UTC),
        metric_rows=2_000_000,
        checksum="ab" * 32,
        loaded_by="ops@host",
    )
    older = LedgerEntry(
        1, "default", "v", datetime(2026, 2, 1, tzinfo=UTC), 23, "cd" * 32, "me@laptop"
    )
    assert ledger_table([entry, older]).splitlines() == [
        "tenant   dataset  loaded at (UTC)      metric rows  checksum      loaded by",
        "acme     spring   2026-03-01 09:05:07    2,000,000  abababababab  ops@host",
        "default  v        2026-02-01 00:00:00           23  cdcdcdcdcdcd  me@laptop",
    ]
