"""The one `Migrations` registry of the workspace schema, and the statement runner they share."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("flames")


def run_script(db: Database, script: str) -> None:
    """Run each statement on the migration's transaction (executescript would commit it).

    Statements are split on `;` at a line end: keep SQL comments on their own lines.
    """
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)
