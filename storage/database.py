"""Opening a workspace: one SQLite file, WAL, foreign keys, a busy timeout, newest schema.

SQLite allows one writer at a time; WAL lets readers run while it writes. Every
thread or process opens its own connection with `open_db`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from storage.migrations import MIGRATION_NAMES, migrations

DEFAULT_DB = "flames.db"
BUSY_TIMEOUT_MS = 30_000


class StorageError(Exception):
    """The workspace file cannot be opened or is not a FLAMES workspace."""


def default_db_path() -> str:
    """The workspace path: $FLAMES_DB, else ./flames.db."""
    return os.environ.get("FLAMES_DB") or DEFAULT_DB


def connect(path: str | Path) -> sqlite3.Connection:
    """A raw connection with the workspace pragmas set (WAL, foreign keys, busy timeout)."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    # 64 MiB of page cache: index inserts of big imports and 1M-row scans stay in memory.
    conn.execute("PRAGMA cache_size = -65536")
    return conn


def open_db(path: str | Path | None = None, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the workspace at `path` and bring its schema up to date."""
    target = Path(path) if path is not None else Path(default_db_path())
    if str(target) != ":memory:":
        if target.is_dir():
            raise StorageError(f"{target}: is a directory; give a file path with --db")
        if target.parent and not target.parent.exists():
            raise StorageError(f"{target}: folder {target.parent} does not exist")
    try:
        db = Database(connect(target))
        if migrate:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{target}: not a usable SQLite workspace ({exc})") from exc
    return db


def schema_version(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, oldest first."""
    return [m.name for m in migrations.applied(db)]


def latest_version() -> str:
    """Name of the newest migration this code knows."""
    return MIGRATION_NAMES[-1]


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction taken up front (BEGIN IMMEDIATE): all of it lands or none."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
