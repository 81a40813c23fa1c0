"""Schema migrations with Alembic, run on an engine's connection."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from analytics.adapters.resources import shipped_directory


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_directory("migrations")))
    return config


def _untimed(connection: Connection) -> None:
    """PostgreSQL: no statement timeout for the migration's transaction. The service's
    engine bounds every statement (a request must never hang), but a migration that rewrites
    a large tenant's rows takes as long as it takes."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = 0"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config()
    with engine.begin() as connection:
        _untimed(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config()
    with engine.begin() as connection:
        _untimed(connection)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


class UnknownRevision(ValueError):
    """A revision that no migration of this version defines."""


def resolve(revision: str) -> str:
    """The revision id that `revision` names: `head` or an exact id (`0002`)."""
    known = revisions()
    if revision == "head" and known:
        return known[-1]
    if revision in known:
        return revision
    raise UnknownRevision(
        f"unknown revision {revision!r}: expected head or one of {', '.join(known)}"
    )


def steps(current: str | None, target: str) -> int:
    """How many revisions `target` is above `current` (None: an empty database); negative
    when it is below. `UnknownRevision` when the database is at a revision this version
    does not define (e.g. migrated by a newer release)."""
    known = revisions()
    if current is not None and current not in known:
        raise UnknownRevision(
            f"database schema is at revision {current!r}, which this version does not "
            "define (migrated by a newer release?)"
        )
    position = -1 if current is None else known.index(current)
    return known.index(target) - position
