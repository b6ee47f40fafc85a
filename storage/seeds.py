"""Queries on `seed_sets` and `seeds`.

A set being imported has status 'importing' and a hidden name until its last batch lands;
the queries here see only 'ready' sets, so nobody samples half an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from storage.database import transaction

SeedRow = tuple[int, int, str, str | None, str | None, str, str]
"""(seed_set_id, source_line, question, answer, solution, meta_json, content_hash)"""


def seed_set_id(db: Database, name: str) -> int | None:
    """The id of the (ready) seed set called `name`, or None."""
    row = db.execute(
        "SELECT id FROM seed_sets WHERE name = ? AND status = 'ready'", [name]
    ).fetchone()
    return int(row[0]) if row else None


def seed_set_info(db: Database, name: str) -> tuple[int, str, int] | None:
    """(id, source, seeds) of the ready seed set called `name`, or None."""
    row = db.execute(
        "SELECT s.id, s.source, (SELECT COUNT(*) FROM seeds d WHERE d.seed_set_id = s.id) "
        "FROM seed_sets s WHERE s.name = ? AND s.status = 'ready'",
        [name],
    ).fetchone()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None


def create_staging_set(
    db: Database,
    hidden_name: str,
    source: str,
    question_field: str | None,
    answer_field: str | None,
) -> int:
    """A new, invisible seed set an import fills batch by batch (status 'importing')."""
    cursor = db.execute(
        "INSERT INTO seed_sets (name, source, question_field, answer_field, status) "
        "VALUES (?, ?, ?, ?, 'importing')",
        [hidden_name, source, question_field, answer_field],
    )
    return int(cursor.lastrowid or 0)


def importing_sets(db: Database) -> list[tuple[int, str]]:
    """(id, hidden name) of every set still being imported (or left by a dead import)."""
    rows = db.execute("SELECT id, name FROM seed_sets WHERE status = 'importing'").fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def publish_set(db: Database, set_id: int, name: str) -> bool:
    """Give a staged set its real name and make it visible; False if the name is taken."""
    if db.execute("SELECT 1 FROM seed_sets WHERE name = ?", [name]).fetchone():
        return False
    cursor = db.execute(
        "UPDATE seed_sets SET name = ?, status = 'ready' WHERE id = ? AND status = 'importing'",
        [name, set_id],
    )
    return cursor.rowcount > 0


def merge_set(db: Database, staged_id: int, target_id: int, source: str) -> int:
    """Move a staged set's seeds into `target_id` (skipping ones it holds); return rows moved."""
    cursor = db.execute(
        "UPDATE OR IGNORE seeds SET seed_set_id = ? WHERE seed_set_id = ?", [target_id, staged_id]
    )
    moved = max(cursor.rowcount, 0)
    db.execute("DELETE FROM seeds WHERE seed_set_id = ?", [staged_id])
    db.execute("DELETE FROM seed_sets WHERE id = ?", [staged_id])
    db.execute(
        "UPDATE seed_sets SET source = source || ' + ' || ? WHERE id = ?", [source, target_id]
    )
    return moved


def delete_set_in_batches(db: Database, set_id: int, batch: int = 20_000) -> None:
    """Delete a seed set, its seeds a batch per transaction (a big set never blocks writers)."""
    while True:
        with transaction(db):
            cursor = db.execute(
                "DELETE FROM seeds WHERE rowid IN "
                "(SELECT rowid FROM seeds WHERE seed_set_id = ? LIMIT ?)",
                [set_id, batch],
            )
            if cursor.rowcount <= 0:
                db.execute("DELETE FROM seed_sets WHERE id = ?", [set_id])
                return


def ensure_seed_set(
    db: Database, name: str, source: str, question_field: str | None, answer_field: str | None
) -> int:
    """The id of seed set `name`, created (ready) if it does not exist yet."""
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
        " WHERE s.status = 'ready' GROUP BY s.id ORDER BY s.name"
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


def seeds_in_rotation(
    db: Database, set_names: Sequence[str], offset: int, count: int
) -> list[tuple[int, str, str, str | None, str | None]]:
    """`count` seeds from the named sets (all sets when none are named), in id order from
    the `offset`-th, wrapping around: (id, set name, question, answer, solution)."""
    where = "WHERE seed_sets.status = 'ready'"  # never a set still being imported
    if set_names:
        where += f" AND seed_sets.name IN ({', '.join('?' for _ in set_names)})"
    source = f"FROM seeds JOIN seed_sets ON seed_sets.id = seeds.seed_set_id {where}"
    total = int(db.execute(f"SELECT COUNT(*) {source}", list(set_names)).fetchone()[0])
    if total == 0:
        return []
    rows = db.execute(
        f"SELECT seeds.id, seed_sets.name, question, answer, solution {source} "
        "ORDER BY seeds.id LIMIT ? OFFSET ?",
        [*set_names, count, offset % total],
    ).fetchall()
    if len(rows) < count:  # wrap around to the first seeds
        rows += db.execute(
            f"SELECT seeds.id, seed_sets.name, question, answer, solution {source} "
            "ORDER BY seeds.id LIMIT ?",
            [*set_names, min(count - len(rows), total - len(rows))],
        ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows]


def seed_by_id(db: Database, seed_id: int) -> tuple[int, str, str, str | None, str | None] | None:
    """One seed as (id, set name, question, answer, solution), or None."""
    row = db.execute(
        "SELECT seeds.id, seed_sets.name, question, answer, solution FROM seeds "
        "JOIN seed_sets ON seed_sets.id = seeds.seed_set_id WHERE seeds.id = ?",
        [seed_id],
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]), row[3], row[4])
