"""Opening a workspace: one SQLite file, WAL, foreign keys, a busy timeout, newest schema.

SQLite allows one writer at a time; WAL lets readers run while it writes. Every
thread or process opens its own connection with `open_db`. Writers keep their
transactions short (long jobs commit in batches), and a writer that still finds the
file locked waits and tries again (`transaction`, `retry_locked`) instead of failing:
on a shared workspace "database is locked" is a wait, never an error a user sees.

sqlite-utils (and through it pandas, when installed) is imported only when a workspace
is opened, so `flames --help` stays fast.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlite_utils import Database

DEFAULT_DB = "flames.db"
BUSY_TIMEOUT_MS = 30_000
# How long a writer keeps retrying a locked workspace before it gives up (seconds).
LOCK_WAIT_S = 600.0
MIGRATIONS_TABLE = "_sqlite_migrations"
MIGRATION_SET = "flames"

T = TypeVar("T")


class StorageError(Exception):
    """The workspace file cannot be opened or is not a FLAMES workspace."""


def default_db_path() -> str:
    """The workspace path: $FLAMES_DB, else ./flames.db."""
    return os.environ.get("FLAMES_DB") or DEFAULT_DB


def busy_timeout_ms() -> int:
    """How long one statement waits for the write lock ($FLAMES_BUSY_TIMEOUT_MS, else 30 s)."""
    try:
        return max(1, int(os.environ.get("FLAMES_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)))
    except ValueError:
        return BUSY_TIMEOUT_MS


def lock_wait_s() -> float:
    """How long a writer retries a locked workspace in all ($FLAMES_LOCK_WAIT_S, else 600 s)."""
    try:
        return max(0.0, float(os.environ.get("FLAMES_LOCK_WAIT_S", LOCK_WAIT_S)))
    except ValueError:
        return LOCK_WAIT_S


def connect(path: str | Path) -> sqlite3.Connection:
    """A raw connection with the workspace pragmas set (WAL, foreign keys, busy timeout)."""
    timeout_ms = busy_timeout_ms()
    conn = sqlite3.connect(
        str(path), timeout=timeout_ms / 1000, check_same_thread=False, isolation_level=None
    )
    conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    conn.execute("PRAGMA synchronous = NORMAL")
    # 64 MiB of page cache: index inserts of big imports and 1M-row scans stay in memory.
    conn.execute("PRAGMA cache_size = -65536")
    return conn


def open_db(path: str | Path | None = None, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the workspace at `path` and bring its schema up to date.

    Refuses, without writing anything, a SQLite file that is not a FLAMES workspace and a
    workspace made by a newer release (whose schema this code does not know).
    """
    from sqlite_utils import Database

    target = Path(path) if path is not None else Path(default_db_path())
    if str(target) != ":memory:":
        if target.is_dir():
            raise StorageError(f"{target}: is a directory; give a file path with --db")
        if target.parent and not target.parent.exists():
            raise StorageError(f"{target}: folder {target.parent} does not exist")
    try:
        db = Database(connect(target))
        _check_workspace(db, target)
        if migrate:
            _migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{target}: not a usable SQLite workspace ({exc})") from exc
    return db


def _applied(db: Database) -> list[str] | None:
    """Migration names recorded in the file, oldest first (None: no migrations table)."""
    conn = db.conn
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
    ).fetchone()
    if found is None:
        return None
    rows = conn.execute(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid",
        [MIGRATION_SET],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _check_workspace(db: Database, target: Path) -> None:
    """A FLAMES workspace (or an empty file) of a schema this release knows, else StorageError."""
    from storage.migrations import MIGRATION_NAMES

    applied = _applied(db)
    if not applied:
        tables = [
            str(row[0])
            for row in db.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != ?",
                [MIGRATIONS_TABLE],
            ).fetchall()
        ]
        if tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise StorageError(
                f"{target}: not a FLAMES workspace (it holds other tables: {shown}); "
                "give a new file or an existing workspace with --db"
            )
        return
    unknown = [name for name in applied if name not in MIGRATION_NAMES]
    if unknown:
        raise StorageError(
            f"{target}: made by a newer FLAMES release (schema {applied[-1]}; this release "
            f"knows up to {MIGRATION_NAMES[-1]}); upgrade flames-workbench to open it"
        )


def _migrate(db: Database) -> None:
    """Apply pending migrations under the write lock (two processes never race to apply)."""
    from storage.migrations import MIGRATION_NAMES, migrations

    applied = _applied(db) or []
    if len(applied) >= len(MIGRATION_NAMES):
        return
    with transaction(db):
        migrations.apply(db)


def schema_version(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, oldest first."""
    return _applied(db) or []


def latest_version() -> str:
    """Name of the newest migration this code knows."""
    from storage.migrations import MIGRATION_NAMES

    return MIGRATION_NAMES[-1]


def is_locked(error: BaseException) -> bool:
    """Whether `error` is SQLite saying another connection holds the lock."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0.02, min(1.0, 0.05 * 2**attempt)))


def retry_locked(action: Callable[[], T], *, wait_s: float | None = None) -> T:
    """Run one self-contained write (a statement, a whole transaction); retry while locked.

    Only for actions that either fully happen or not at all: a failed try leaves nothing.
    After `wait_s` (default `lock_wait_s()`) the lock error is raised after all.
    """
    deadline = time.monotonic() + (lock_wait_s() if wait_s is None else wait_s)
    attempt = 0
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or time.monotonic() >= deadline:
                raise
        _pause(attempt)
        attempt += 1


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction taken up front (BEGIN IMMEDIATE): all of it lands or none.

    Taking the write lock is retried while another writer holds it (nothing has happened
    yet, so a retry is safe); the body runs once.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        try:
            retry_locked(lambda: conn.execute("COMMIT"))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def data_version(db: Database) -> int:
    """A number that changes when another connection commits to the workspace.

    Cheap (no table is read): a screen polls it on its own connection and reloads only
    when something was written.
    """
    return int(db.conn.execute("PRAGMA data_version").fetchone()[0])
