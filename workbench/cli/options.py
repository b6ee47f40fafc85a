"""Options shared by every command, and the workspace they open."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlite_utils import Database

from pipeline.errors import FlamesError
from storage.database import StorageError, open_db

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "flames.db"
MAX_ATTEMPTS_LIMIT = 100


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


def retry_options(func: F) -> F:
    """`--max-attempts N` and `--retry-failed/--no-retry-failed`: every model stage has them.

    Failures are never final: a run tries each request up to N times, and the next run
    tries what still failed again (unless --no-retry-failed).
    """
    func = click.option(
        "--retry-failed/--no-retry-failed",
        "retry_failed",
        default=True,
        show_default=True,
        help="Send requests that failed in an earlier run again.",
    )(func)
    return click.option(
        "--max-attempts",
        type=click.IntRange(min=1, max=MAX_ATTEMPTS_LIMIT),
        default=3,
        show_default=True,
        help="Tries per request in this run before it is given up (the next run tries again).",
    )(func)


def open_workspace(db_path: str) -> Database:
    """Open the workspace at `db_path`, turning storage failures into a one-line error."""
    try:
        return open_db(db_path)
    except StorageError as exc:
        raise FlamesError(str(exc)) from None


@contextmanager
def stage_locked(db: Database, stage: str, experiment: str) -> Iterator[None]:
    """Hold the lock of `stage` on `experiment`: a second run of it at once is refused."""
    from pipeline.experiments.lookup import resolve_experiment
    from pipeline.jobs.locks import stage_lock

    experiment_id = resolve_experiment(db, experiment)
    command = shlex.join(["flames", *sys.argv[1:]])
    with stage_lock(db, stage, f"experiment {experiment_id}", command=command):
        yield
