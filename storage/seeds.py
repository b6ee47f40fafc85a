"""Queries on `seed_sets` and `seeds`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

SeedRow = tuple[int, int, str, str | None, str | None, str, str]
"""(seed_set_id, source_line, question, answer, solution, meta_json, content_hash)"""


def seed_set_id(db: Database, name: str) -> int | None:
    """The id of the seed set called `name`, or None."""
    row = db.execute("SELECT id FROM seed_sets WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else None


def ensure_seed_set(
    db: Database, name: str, source: str, question_field: str | None, answer_field: str | None
) -> int:
    """The id of seed set `name`, created if it does not exist yet."""
    existing = seed_set_id(db, name)
    if existing is not None:
        return existing
    cursor = db.execute(
        "INSERT INTO seed_sets (name, source, question_field, answer_field) VALUES (?, ?, ?, ?)",
        [name, source, question_field, answer_field],
    )
    return int(cursor.lastrowid or 0)


def insert_seeds(db: Database, rows: Sequence[SeedRow]) -> int:
    """Insert seeds, skipping any whose content hash the set already holds; returns rows added."""
    cursor = db.conn.executemany(
        "INSERT OR IGNORE INTO seeds (seed_set_id, source_line, question, answer, solution, meta,"
        " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    # rowcount sums the statements' own changes (not those made by triggers).
    return max(cursor.rowcount, 0)


def list_seed_sets(db: Database) -> list[dict[str, Any]]:
    """Every seed set with its row count and how many seeds carry an answer."""
    cursor = db.execute(
        "SELECT s.id, s.name, s.source, s.created_at, COUNT(d.id) AS seeds,"
        " SUM(d.answer IS NOT NULL) AS with_answer"
        " FROM seed_sets s LEFT JOIN seeds d ON d.seed_set_id = s.id"
        " GROUP BY s.id ORDER BY s.name"
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sample_seeds(db: Database, set_id: int, limit: int) -> list[dict[str, Any]]:
    """The first `limit` seeds of a set, in source order."""
    cursor = db.execute(
        "SELECT id, source_line, question, answer, solution FROM seeds WHERE seed_set_id = ?"
        " ORDER BY source_line, id LIMIT ?",
        [set_id, limit],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
