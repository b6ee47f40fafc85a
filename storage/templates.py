"""Prompt template versions and strategy definitions in the workspace.

Templates are append-only: an edit adds version n+1, so every stored problem can
name the exact template versions that made it. The `strategies` table keeps each
strategy's definition (stages, params, answer rule) as JSON for readers like the TUI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.database import transaction

DEFAULT_NOTE = "default"


@dataclass(frozen=True)
class TemplateVersion:
    """One stored version of one stage's template."""

    strategy: str
    stage: str
    version: int
    body: str
    note: str | None
    created_at: str


def _row(row: Any) -> TemplateVersion:
    return TemplateVersion(row[0], row[1], int(row[2]), row[3], row[4], row[5])


_COLUMNS = "strategy, stage, version, body, note, created_at"


def latest_template(db: Database, strategy: str, stage: str) -> TemplateVersion | None:
    """The newest version of `strategy`/`stage`, or None when it has none."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM templates WHERE strategy = ? AND stage = ? "
        "ORDER BY version DESC LIMIT 1",
        [strategy, stage],
    ).fetchone()
    return _row(row) if row is not None else None


def template_version(
    db: Database, strategy: str, stage: str, version: int
) -> TemplateVersion | None:
    """One exact version, or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM templates WHERE strategy = ? AND stage = ? AND version = ?",
        [strategy, stage, version],
    ).fetchone()
    return _row(row) if row is not None else None


def template_history(db: Database, strategy: str, stage: str) -> list[TemplateVersion]:
    """Every version of `strategy`/`stage`, oldest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM templates WHERE strategy = ? AND stage = ? ORDER BY version",
        [strategy, stage],
    ).fetchall()
    return [_row(r) for r in rows]


def add_template_version(
    db: Database, strategy: str, stage: str, body: str, note: str | None = None
) -> tuple[TemplateVersion, bool]:
    """Store `body` as the next version unless it equals the latest; (latest, added)."""
    with transaction(db):
        latest = latest_template(db, strategy, stage)
        if latest is not None and latest.body == body:
            return latest, False
        version = 1 if latest is None else latest.version + 1
        db.execute(
            "INSERT INTO templates (strategy, stage, version, body, note) VALUES (?, ?, ?, ?, ?)",
            [strategy, stage, version, body, note],
        )
    stored = template_version(db, strategy, stage, version)
    assert stored is not None
    return stored, True


def seed_default_template(db: Database, strategy: str, stage: str, body: str) -> bool:
    """Store the packaged default on first use, or as a new version when it changed.

    A changed default replaces the latest only if that latest is itself a default:
    a user's edit is never superseded by a package upgrade. True when a row was added.
    """
    latest = latest_template(db, strategy, stage)
    if latest is not None and (latest.body == body or not _is_default(latest)):
        return False
    _, added = add_template_version(db, strategy, stage, body, DEFAULT_NOTE)
    return added


def _is_default(version: TemplateVersion) -> bool:
    return (version.note or "").startswith(DEFAULT_NOTE)


def save_strategy_definition(db: Database, name: str, definition: dict[str, Any]) -> None:
    """Insert or update the stored definition of strategy `name`."""
    text = json.dumps(definition, sort_keys=True)
    row = db.execute("SELECT definition_json FROM strategies WHERE name = ?", [name]).fetchone()
    if row is not None and row[0] == text:
        return
    with transaction(db):
        db.execute(
            "INSERT INTO strategies (name, definition_json) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET definition_json = excluded.definition_json, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [name, text],
        )


def stored_strategy_definition(db: Database, name: str) -> dict[str, Any] | None:
    """The stored definition of `name`, or None."""
    row = db.execute("SELECT definition_json FROM strategies WHERE name = ?", [name]).fetchone()
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row[0])
    return data
