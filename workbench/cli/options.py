"""Options shared by every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlite_utils import Database

from pipeline.errors import FlamesError
from storage.database import StorageError, open_db

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "flames.db"


def db_option(func: F) -> F:
    """`--db PATH`: the workspace database (default ./flames.db, env FLAMES_DB)."""
    return click.option(
        "--db",
        "db_path",
        envvar="FLAMES_DB",
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="Workspace SQLite file (env FLAMES_DB).",
    )(func)


def open_workspace(db_path: str) -> Database:
    """Open the workspace at `db_path`, turning storage failures into a one-line error."""
    try:
        return open_db(db_path)
    except StorageError as exc:
        raise FlamesError(str(exc)) from None
