"""Workbench settings (key/value) and manual marks on problems (keep / drop / flag + note)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.database import transaction

MARKS = ("keep", "drop", "flag")


def get_setting(db: Database, key: str, default: str | None = None) -> str | None:
    """The stored value for `key`, else `default`."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def set_setting(db: Database, key: str, value: str) -> None:
    """Store `value` under `key`, replacing what was there."""
    with transaction(db):
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [key, value],
        )


def get_mark(db: Database, problem_id: int) -> tuple[str, str | None] | None:
    """(mark, note) for a problem, or None when unmarked."""
    row = db.execute("SELECT mark, note FROM marks WHERE problem_id = ?", [problem_id]).fetchone()
    return (str(row[0]), row[1]) if row else None


def set_mark(db: Database, problem_id: int, mark: str | None, note: str | None = None) -> None:
    """Mark a problem keep/drop/flag with an optional note; `mark=None` clears it."""
    if mark is not None and mark not in MARKS:
        raise ValueError(f"mark must be one of {', '.join(MARKS)}, not {mark!r}")
    with transaction(db):
        if mark is None:
            db.execute("DELETE FROM marks WHERE problem_id = ?", [problem_id])
            return
        db.execute(
            "INSERT INTO marks (problem_id, mark, note) VALUES (?, ?, ?) "
            "ON CONFLICT(problem_id) DO UPDATE SET mark = excluded.mark, note = excluded.note, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [problem_id, mark, note],
        )
