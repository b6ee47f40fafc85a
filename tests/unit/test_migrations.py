"""The schema upgrades forward from every earlier version without losing data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.database import connect, latest_version, open_db, schema_version
from storage.migrations import MIGRATION_NAMES, migrations

REQUIRED_TABLES = {
    "seed_sets",
    "seeds",
    "experiments",
    "arms",
    "strategies",
    "requests",
    "problems",
    "stage_outputs",
    "solutions",
    "scores",
    "duplicates",
    "blends",
    "jobs",
    "job_events",
    "stage_locks",
    "flow_stages",
    "flow_arm_stages",
    "arm_problems",
    "trace_sets",
    "traces",
    "steps",
    "rollouts",
    "training_runs",
    "training_metrics",
    "training_checkpoints",
    "eval_runs",
    "eval_items",
}


def test_new_workspace_has_every_table_and_pragma(db: Database) -> None:
    assert set(db.table_names()) >= REQUIRED_TABLES
    assert "problems_fts" in db.table_names()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert schema_version(db) == MIGRATION_NAMES
    assert schema_version(db)[-1] == latest_version()


@pytest.mark.parametrize("stop_before", MIGRATION_NAMES[1:])
def test_upgrade_from_each_earlier_version(tmp_path: Path, stop_before: str) -> None:
    path = tmp_path / "old.db"
    old = Database(connect(path))
    migrations.apply(old, stop_before=stop_before)
    applied = schema_version(old)
    assert applied == MIGRATION_NAMES[: MIGRATION_NAMES.index(stop_before)]
    # Data written at the old version survives the upgrade.
    old.execute("INSERT INTO seed_sets (name, source) VALUES ('old', 'x.jsonl')")
    old.execute(
        "INSERT INTO seeds (seed_set_id, source_line, question, content_hash)"
        " VALUES (1, 1, 'What is 1+1?', 'h')"
    )
    old.close()

    upgraded = open_db(path)
    assert schema_version(upgraded) == MIGRATION_NAMES
    assert set(upgraded.table_names()) >= REQUIRED_TABLES
    assert upgraded.execute("SELECT question FROM seeds").fetchall() == [("What is 1+1?",)]


def test_reopening_applies_nothing_twice(db_path: Path) -> None:
    open_db(db_path).close()
    again = open_db(db_path)
    count = again.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0]
    assert count == len(MIGRATION_NAMES)
    assert schema_version(again) == MIGRATION_NAMES


def test_problem_text_is_full_text_searchable(db: Database) -> None:
    db.execute("INSERT INTO experiments (name, config_toml, config_json) VALUES ('e', '', '{}')")
    db.execute(
        "INSERT INTO problems (experiment_id, strategy, text) VALUES"
        " (1, 'paraphrase', 'A train leaves the station at noon')"
    )
    hits = db.execute(
        "SELECT rowid FROM problems_fts WHERE problems_fts MATCH 'station'"
    ).fetchall()
    assert hits == [(1,)]


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    from storage.database import StorageError

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite workspace"):
        open_db(junk)
