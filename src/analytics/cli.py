"""`analytics` command line: serve the API (more commands arrive with later engines)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from analytics.adapters.csv_dataset import DatasetRefused
from analytics.api.app import create_app
from analytics.settings import ConfigurationError, load_settings

cli = typer.Typer(help="Campaign analytics service.", no_args_is_help=True, add_completion=False)


@cli.callback()
def _root() -> None:
    """Campaign analytics: performance, creator ranking and anomaly alerts over daily metrics."""


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API, configured by the environment (DATA_DIR, DATABASE_URL, ...)."""
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        # Validates configuration and data once, in this process, before any worker starts.
        app = create_app(settings)
    except ConfigurationError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    except DatasetRefused as error:
        typer.echo(error.summary(), err=True)
        raise typer.Exit(1) from None
    log_level = settings.log_level.lower()
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    else:
        uvicorn.run(
            "analytics.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )


def main() -> None:
    cli()
