"""Alembic environment: runs the migrations on the connection `analytics migrate` hands over."""

from alembic import context
from sqlalchemy import create_engine

from analytics.adapters.schema import metadata

config = context.config
# No `fileConfig(config.config_file_name)` as in Alembic's template: running the migrations
# must not reconfigure the process's logging, which `analytics.logs` sets up.
target_metadata = metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
