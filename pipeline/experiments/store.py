"""Experiments: create from a preset or a config file, load, update, export, summarise."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.config import (
    ExperimentConfig,
    config_from_data,
    config_to_data,
    config_to_toml,
    load_config_file,
    parse_config,
    preset_text,
)
from pipeline.errors import ConfigError
from pipeline.experiments.lookup import resolve_experiment
from storage import experiments as rows
from storage.database import transaction
from storage.seeds import seed_set_id

EMBEDDED_SEED_SET = "champ"


@dataclass(frozen=True)
class Created:
    """A new experiment and what the user should know about it."""

    config: ExperimentConfig
    experiment_id: int
    notes: list[str] = field(default_factory=list)


def create_experiment(
    db: Database, name: str, *, preset: str | None = None, config_path: str | Path | None = None
) -> Created:
    """Create experiment `name` from a preset or a TOML file (exactly one of them)."""
    if (preset is None) == (config_path is None):
        raise ConfigError("give exactly one of --preset NAME or --config FILE")
    if config_path is not None:
        config, text = load_config_file(config_path, name=name)
    else:
        assert preset is not None
        text = preset_text(preset)
        config = parse_config(text, source=f"preset {preset}", name=name)
    if rows.experiment_row(db, name) is not None:
        raise ConfigError(
            f"experiment '{name}' already exists (see it with `flames experiment show {name}`)"
        )
    notes = _ensure_seed_sets(db, config)
    with transaction(db):
        experiment_id = rows.insert_experiment(
            db, name, preset, text, _to_json(config), _arm_rows(config)
        )
    return Created(config=config, experiment_id=experiment_id, notes=notes)


def load_experiment(db: Database, name: str) -> ExperimentConfig:
    """The validated config of experiment `name`."""
    row = _row(db, name)
    return config_from_data(json.loads(row["config_json"]), source=f"experiment {name}")


def experiment_id(db: Database, name: str) -> int:
    """The id of experiment `name` (see `pipeline.experiments.lookup`)."""
    return resolve_experiment(db, name)


def save_experiment(db: Database, config: ExperimentConfig) -> None:
    """Store a changed config (for example from the TUI) after validating it again."""
    checked = config_from_data(config_to_data(config), source=f"experiment {config.name}")
    row = _row(db, checked.name)
    with transaction(db):
        rows.update_experiment(
            db, int(row["id"]), config_to_toml(checked), _to_json(checked), _arm_rows(checked)
        )


def export_experiment(db: Database, name: str) -> str:
    """The experiment's full config as TOML: `experiment new X --config` recreates it."""
    return config_to_toml(load_experiment(db, name))


def list_experiments(db: Database) -> list[str]:
    return rows.experiment_names(db)


@dataclass(frozen=True)
class Deleted:
    """What deleting an experiment removed."""

    name: str
    problems: int


def delete_experiment(db: Database, name: str) -> Deleted:
    """Delete experiment `name` with its arms, problems, solutions, scores and blends.

    Seed sets, templates and the LLM request cache stay (other experiments share them);
    job rows stay too, detached, so their logs remain readable.
    """
    experiment = resolve_experiment(db, name)
    row = rows.experiment_row_by_id(db, experiment)
    assert row is not None
    with transaction(db):
        problems = rows.delete_experiment(db, experiment)
    return Deleted(name=str(row["name"]), problems=problems)


def clone_experiment(db: Database, name: str, new_name: str) -> Created:
    """A new experiment `new_name` with the config of `name` (its problems are not copied).

    Generating the clone reuses every LLM reply the original got for the same prompts
    (the request cache), so a clone that changes only later stages costs no model calls.
    """
    source = _row(db, name)
    config = load_experiment(db, str(source["name"]))
    _check_free(db, new_name)
    renamed = _renamed(config, new_name)
    with transaction(db):
        experiment_id = rows.insert_experiment(
            db,
            new_name,
            source["preset"],
            config_to_toml(renamed),
            _to_json(renamed),
            _arm_rows(renamed),
        )
    return Created(config=renamed, experiment_id=experiment_id)


def rename_experiment(db: Database, name: str, new_name: str) -> None:
    """Call experiment `name` `new_name` from now on (its problems and jobs follow it)."""
    source = _row(db, name)
    if str(source["name"]) == new_name:
        return
    _check_free(db, new_name)
    renamed = _renamed(load_experiment(db, str(source["name"])), new_name)
    with transaction(db):
        rows.rename_experiment(
            db, int(source["id"]), new_name, config_to_toml(renamed), _to_json(renamed)
        )


def free_name(db: Database, base: str) -> str:
    """`base` if no experiment has that name, else the first free `base-2`, `base-3`, ..."""
    taken = set(rows.experiment_names(db))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def missing_seed_sets(db: Database, config: ExperimentConfig) -> list[str]:
    """Seed sets the config draws from that the workspace has not imported (nor can embed)."""
    return [
        ref.name
        for ref in config.seed_sets
        if ref.name != EMBEDDED_SEED_SET and seed_set_id(db, ref.name) is None
    ]


def seed_set_users(db: Database) -> dict[str, list[str]]:
    """Seed set name -> the experiments whose config draws from it."""
    users: dict[str, list[str]] = {}
    for name in rows.experiment_names(db):
        try:
            config = load_experiment(db, name)
        except ConfigError:
            continue  # an experiment stored by an older version: not a user we can read
        for ref in config.seed_sets:
            users.setdefault(ref.name, []).append(name)
    return users


def _check_free(db: Database, name: str) -> None:
    if not name.strip():
        raise ConfigError("an experiment needs a name")
    if rows.experiment_row(db, name) is not None:
        raise ConfigError(
            f"experiment '{name}' already exists: pick another name "
            f"(for example {free_name(db, name)})"
        )


def _renamed(config: ExperimentConfig, new_name: str) -> ExperimentConfig:
    data = config_to_data(config)
    data["experiment"]["name"] = new_name
    return config_from_data(data, source=f"experiment {new_name}")


def summary(db: Database, name: str) -> dict[str, Any]:
    """What the experiment holds: config (and its TOML as stored, comments kept), arms,
    per-strategy stage counts."""
    row = _row(db, name)
    return {
        "name": name,
        "preset": row["preset"],
        "created_at": row["created_at"],
        "config": load_experiment(db, name),
        "config_toml": str(row["config_toml"]),
        "arms": rows.arm_rows(db, int(row["id"])),
        "stages": rows.stage_counts(db, int(row["id"])),
    }


def _row(db: Database, name: str) -> dict[str, Any]:
    row = rows.experiment_row_by_id(db, resolve_experiment(db, name))
    assert row is not None
    return row


def _ensure_seed_sets(db: Database, config: ExperimentConfig) -> list[str]:
    """Import the embedded seed set when the config needs it; note any other missing set."""
    notes: list[str] = []
    for ref in config.seed_sets:
        if seed_set_id(db, ref.name) is not None:
            continue
        if ref.name == EMBEDDED_SEED_SET:
            from pipeline.seeds import import_seeds

            report = import_seeds(db, "champ", EMBEDDED_SEED_SET)
            notes.append(f"imported the embedded CHAMP seed set ({report.added} problems)")
        else:
            notes.append(
                f"seed set '{ref.name}' is not imported yet: "
                f"flames seeds import SOURCE --name {ref.name}"
            )
    return notes


def _to_json(config: ExperimentConfig) -> str:
    return json.dumps(config_to_data(config))


def _arm_rows(config: ExperimentConfig) -> list[dict[str, Any]]:
    return [
        {
            "name": arm.name,
            "factor": arm.factor,
            "baseline": arm.baseline,
            "overrides_json": json.dumps(arm.overrides, sort_keys=True),
        }
        for arm in config.arms
    ]
