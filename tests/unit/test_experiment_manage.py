"""Experiments: delete, clone and rename, from the pipeline and from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.config import parse_config, preset_text
from pipeline.errors import ConfigError
from pipeline.experiments import store
from storage.database import open_db
from tests.tui.sample import build_workspace
from workbench.cli.main import cli


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws.db"
    db = build_workspace(path, 12)
    store.create_experiment(db, "quick", preset="quickstart")
    db.conn.close()
    return path


def test_clone_copies_the_config_not_the_problems(workspace: Path) -> None:
    db = open_db(workspace)
    created = store.clone_experiment(db, "quick", "quick-b")
    config = store.load_experiment(db, "quick-b")
    assert config.name == "quick-b" and created.config == config
    assert config.strategies == store.load_experiment(db, "quick").strategies
    assert "quick-b" in store.export_experiment(db, "quick-b")
    assert store.summary(db, "quick-b")["stages"] == []
    with pytest.raises(ConfigError, match="already exists.*quick-b-2"):
        store.clone_experiment(db, "quick", "quick-b")


def test_rename_keeps_problems_and_updates_the_config(workspace: Path) -> None:
    db = open_db(workspace)
    store.rename_experiment(db, "demo", "renamed")
    assert "demo" not in store.list_experiments(db)
    assert db.execute("SELECT COUNT(*) FROM problems WHERE experiment_id = 1").fetchone()[0] == 12
    store.rename_experiment(db, "quick", "quick2")
    assert store.load_experiment(db, "quick2").name == "quick2"
    with pytest.raises(ConfigError, match="already exists"):
        store.rename_experiment(db, "quick2", "renamed")


def test_delete_removes_the_experiment_and_what_cascades(workspace: Path) -> None:
    db = open_db(workspace)
    deleted = store.delete_experiment(db, "demo")
    assert (deleted.name, deleted.problems) == ("demo", 12)
    for table in ("problems", "scores", "solutions", "stage_outputs", "duplicates"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    assert db.execute("SELECT COUNT(*) FROM arms WHERE experiment_id = 1").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM seeds").fetchone()[0] > 0  # seeds stay
    assert store.list_experiments(db) == ["quick"]


def test_free_name_and_missing_seed_sets(workspace: Path) -> None:
    db = open_db(workspace)
    assert store.free_name(db, "fresh") == "fresh"
    assert store.free_name(db, "quick") == "quick-2"
    paper = parse_config(preset_text("flames-paper"), name="p")
    assert store.missing_seed_sets(db, paper) == ["gsm8k-train", "math-train"]
    assert store.missing_seed_sets(db, store.load_experiment(db, "quick")) == []


def test_cli_clone_rename_delete(workspace: Path) -> None:
    runner = CliRunner()
    db = str(workspace)
    result = runner.invoke(cli, ["experiment", "clone", "quick", "copy", "--db", db])
    assert result.exit_code == 0 and "created experiment 'copy'" in result.output
    result = runner.invoke(cli, ["experiment", "rename", "copy", "other", "--db", db])
    assert result.exit_code == 0 and "renamed" in result.output
    result = runner.invoke(cli, ["experiment", "delete", "other", "--db", db], input="n\n")
    assert result.exit_code != 0
    assert "other" in store.list_experiments(open_db(workspace))
    result = runner.invoke(cli, ["experiment", "delete", "other", "--yes", "--db", db])
    assert result.exit_code == 0 and "deleted experiment 'other'" in result.output
    assert "other" not in store.list_experiments(open_db(workspace))


def test_seed_set_users(workspace: Path) -> None:
    db = open_db(workspace)
    store.clone_experiment(db, "quick", "quick-b")
    assert store.seed_set_users(db) == {"champ": ["quick", "quick-b"]}
