"""`flames tui [--db PATH]`: open the terminal workbench on a workspace."""

from __future__ import annotations

import click

from storage.database import StorageError, open_db
from workbench.cli.options import db_option


@click.command(name="tui")
@db_option
@click.option(
    "--screen",
    type=click.Choice(
        [
            "experiments",
            "strategies",
            "problems",
            "filters",
            "blend",
            "jobs",
            "runs",
            "results",
            "steps",
            "seeds",
        ]
    ),
    help="Open on this screen (default: the last one used).",
)
def command(db_path: str, screen: str | None) -> None:
    """Open the terminal workbench (ctrl+q quits; background jobs keep running)."""
    try:
        open_db(db_path).conn.close()  # create or upgrade the workspace up front
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    from workbench.tui.app import FlamesApp

    FlamesApp(db_path, start=screen).run()
