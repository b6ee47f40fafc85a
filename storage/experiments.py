"""Queries on `experiments` and `arms`."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def experiment_row(db: Database, name: str) -> dict[str, Any] | None:
    """The experiments row called `name`, or None."""
    cursor = db.execute("SELECT * FROM experiments WHERE name = ?", [name])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def experiment_row_by_id(db: Database, experiment_id: int) -> dict[str, Any] | None:
    """The experiments row with this id, or None."""
    cursor = db.execute("SELECT * FROM experiments WHERE id = ?", [experiment_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def preferred_experiment(db: Database, preferred_id: object) -> tuple[int, str] | None:
    """(id, name) of the experiment with id `preferred_id` if it exists, else the first one."""
    row = db.execute(
        "SELECT id, name FROM experiments ORDER BY id = ? DESC, id LIMIT 1", [preferred_id]
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def experiment_list(db: Database) -> list[dict[str, Any]]:
    """Every experiment with its preset, creation time and problem counts (generated = ok)."""
    cursor = db.execute(
        "SELECT e.id, e.name, e.preset, substr(e.created_at, 1, 16) AS created,"
        " (SELECT COUNT(*) FROM problems p WHERE p.experiment_id = e.id AND p.status = 'ok')"
        " AS generated,"
        " (SELECT COUNT(*) FROM problems p WHERE p.experiment_id = e.id"
        " AND p.status = 'rejected') AS rejected"
        " FROM experiments e ORDER BY e.id"
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def experiment_names(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM experiments ORDER BY id").fetchall()]


def insert_experiment(
    db: Database,
    name: str,
    preset: str | None,
    config_toml: str,
    config_json: str,
    arms: list[dict[str, Any]],
) -> int:
    """Add an experiment and its arms (call inside a transaction)."""
    cursor = db.execute(
        "INSERT INTO experiments (name, preset, config_toml, config_json) VALUES (?, ?, ?, ?)",
        [name, preset, config_toml, config_json],
    )
    experiment_id = int(cursor.lastrowid or 0)
    _replace_arms(db, experiment_id, arms)
    return experiment_id


def update_experiment(
    db: Database, experiment_id: int, config_toml: str, config_json: str, arms: list[dict[str, Any]]
) -> None:
    """Replace an experiment's config and arms (call inside a transaction)."""
    db.execute(
        "UPDATE experiments SET config_toml = ?, config_json = ?,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
        [config_toml, config_json, experiment_id],
    )
    _replace_arms(db, experiment_id, arms)


def delete_experiment(db: Database, experiment_id: int) -> int:
    """Delete an experiment and everything that cascades from it; returns its problem count
    (call inside a transaction)."""
    problems = int(
        db.execute(
            "SELECT COUNT(*) FROM problems WHERE experiment_id = ?", [experiment_id]
        ).fetchone()[0]
    )
    db.execute("DELETE FROM experiments WHERE id = ?", [experiment_id])
    return problems


def rename_experiment(
    db: Database, experiment_id: int, name: str, config_toml: str, config_json: str
) -> None:
    """Give an experiment a new name and its renamed config (call inside a transaction)."""
    db.execute(
        "UPDATE experiments SET name = ?, config_toml = ?, config_json = ?,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
        [name, config_toml, config_json, experiment_id],
    )


def _replace_arms(db: Database, experiment_id: int, arms: list[dict[str, Any]]) -> None:
    keep = [arm["name"] for arm in arms]
    marks = ",".join("?" for _ in keep) or "''"
    db.execute(
        f"DELETE FROM arms WHERE experiment_id = ? AND name NOT IN ({marks})",
        [experiment_id, *keep],
    )
    for arm in arms:
        db.execute(
            "INSERT INTO arms (experiment_id, name, factor, is_baseline, overrides_json)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (experiment_id, name) DO UPDATE SET"
            " factor = excluded.factor, is_baseline = excluded.is_baseline,"
            " overrides_json = excluded.overrides_json",
            [
                experiment_id,
                arm["name"],
                arm["factor"],
                int(arm["baseline"]),
                arm["overrides_json"],
            ],
        )


def arm_rows(db: Database, experiment_id: int) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM arms WHERE experiment_id = ? ORDER BY id", [experiment_id])
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stage_counts(db: Database, experiment_id: int) -> list[dict[str, Any]]:
    """Per strategy: problems kept/rejected by generation, solutions, scored problems."""
    cursor = db.execute(
        """
        SELECT p.strategy,
               SUM(p.status = 'ok') AS problems,
               SUM(p.status = 'rejected') AS rejected,
               (SELECT COUNT(*) FROM solutions s JOIN problems q ON q.id = s.problem_id
                 WHERE q.experiment_id = p.experiment_id AND q.strategy = p.strategy) AS solutions,
               (SELECT COUNT(*) FROM scores c JOIN problems q ON q.id = c.problem_id
                 WHERE q.experiment_id = p.experiment_id AND q.strategy = p.strategy) AS scored
        FROM problems p WHERE p.experiment_id = ?
        GROUP BY p.strategy ORDER BY p.strategy
        """,
        [experiment_id],
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
