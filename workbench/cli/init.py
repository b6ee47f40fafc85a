"""`flames init`: create or upgrade a workspace."""

from __future__ import annotations

import click

from storage.database import latest_version, schema_version
from workbench.cli.options import db_option, open_workspace


@click.command(name="init")
@db_option
def command(db_path: str) -> None:
    """Create the workspace database (or bring an existing one to the newest schema)."""
    db = open_workspace(db_path)
    applied = schema_version(db)
    click.echo(
        f"workspace {db_path}: schema {applied[-1]} ({len(applied)} migrations; "
        f"newest known {latest_version()})"
    )
