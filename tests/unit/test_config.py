"""Experiment config: presets validate, bad values name file and key, round trips hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.config import (
    FLAMES_BLEND,
    arm_config,
    config_to_toml,
    parse_config,
    preset_names,
    preset_text,
)
from pipeline.errors import ConfigError
from pipeline.experiments.store import (
    create_experiment,
    export_experiment,
    load_experiment,
    save_experiment,
)


def test_presets_validate() -> None:
    assert {"quickstart", "flames-paper"} <= set(preset_names())
    quick = parse_config(preset_text("quickstart"))
    assert quick.models.generator.model.startswith("embedded:")
    assert [ref.name for ref in quick.seed_sets] == ["champ"]
    paper = parse_config(preset_text("flames-paper"))
    assert paper.models.generator.model == "Qwen/Qwen2.5-32B-Instruct"
    assert paper.models.teacher.model == "Qwen/Qwen2.5-Math-7B-Instruct"
    sampling = paper.sampling.generator
    assert (sampling.temperature, sampling.top_p, sampling.top_k, sampling.max_new_tokens) == (
        0.7,
        0.9,
        50,
        2048,
    )
    assert all(cfg.budget == 150_000 for cfg in paper.strategies.values())
    assert len(paper.strategies) == 12
    assert parse_config(preset_text("flames-blend")).blend.ratios == FLAMES_BLEND
    assert [ref.ratio for ref in paper.seed_sets] == [0.5, 0.5]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[strategies.paraphrase]\nbudget = 'ten'\n", "strategies.paraphrase.budget", "integer"),
        ("[strategies.nonsense]\nbudget = 1\n", "strategies.nonsense", "unknown strategy"),
        ("[models.generator]\nbackend = 'tpu'\n", "models.generator.backend", "unknown backend"),
        ("[models.teacher]\nbackend = 'openai'\n", "models.teacher.base_urls", "base URL"),
        ("[sampling.generator]\ntop_p = 1.5\n", "sampling.generator.top_p", "(0, 1]"),
        ("[filter]\npolicy = 'vibes'\n", "filter.policy", "unknown policy"),
        ("[filter]\nnear_dup_max = 2\n", "filter.near_dup_max", "between 0 and 1"),
        ("[solve]\nk = 0\n", "solve.k", "between 1 and"),
        ("[solve]\nkk = 3\n", "solve.kk", "unknown key"),
        ("[[seed_sets]]\nratio = 1\n", "seed_sets[0].name", "missing key"),
        ("[training]\nmethod = 'ppo'\n", "training.method", "unknown method"),
        ("[[arms]]\nname = 'a'\noverrides = { 'solve.k' = -1 }\n", "solve.k", "arms[0]"),
        ("[experiment]\nseed = true\n", "experiment.seed", "integer"),
    ],
)
def test_bad_values_name_file_key_and_problem(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="my.toml")
    message = str(raised.value)
    assert message.startswith("my.toml") and key in message and problem in message


def test_invalid_toml_points_at_the_line() -> None:
    with pytest.raises(ConfigError, match=r"my\.toml: invalid TOML: .*line 2"):
        parse_config("[solve]\nk = = 3\n", source="my.toml")


def test_arm_overrides_change_one_factor() -> None:
    config = parse_config(preset_text("quickstart"))
    arm = arm_config(
        config, next(arm for arm in config.arms if arm.name == "distraction_insertion")
    )
    assert not arm.strategies["suggester_editor"].enabled
    assert arm.strategies["distraction_insertion"] == config.strategies["distraction_insertion"]
    assert arm.models == config.models and arm.filter == config.filter


def test_toml_round_trip() -> None:
    config = parse_config(preset_text("flames-paper"))
    assert parse_config(config_to_toml(config)) == config


def test_experiment_lifecycle(db: Database, tmp_path: Path) -> None:
    created = create_experiment(db, "quick", preset="quickstart")
    assert any("CHAMP" in note for note in created.notes)
    assert load_experiment(db, "quick").name == "quick"
    exported = tmp_path / "quick.toml"
    exported.write_text(export_experiment(db, "quick"), encoding="utf-8")
    copy = create_experiment(db, "copy", config_path=exported).config
    assert copy.strategies == created.config.strategies and copy.name == "copy"
    with pytest.raises(ConfigError, match="already exists"):
        create_experiment(db, "quick", preset="quickstart")
    with pytest.raises(ConfigError, match="no experiment called 'nope'"):
        load_experiment(db, "nope")
    arms = db.execute(
        "SELECT name, is_baseline FROM arms WHERE experiment_id = ?", [created.experiment_id]
    ).fetchall()
    assert sorted(arms) == [("distraction_insertion", 0), ("suggester_editor", 1)]


def test_save_experiment_validates_and_persists(db: Database) -> None:
    import dataclasses

    config = create_experiment(db, "quick", preset="quickstart").config
    changed = dataclasses.replace(config, solve=dataclasses.replace(config.solve, k=5))
    save_experiment(db, changed)
    assert load_experiment(db, "quick").solve.k == 5
    broken = dataclasses.replace(config, solve=dataclasses.replace(config.solve, k=0))
    with pytest.raises(ConfigError, match="solve.k"):
        save_experiment(db, broken)
    assert load_experiment(db, "quick").solve.k == 5
