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


def summary(db: Database, name: str) -> dict[str, Any]:
    """What the experiment holds: config, arms, per-strategy stage counts."""
    row = _row(db, name)
    return {
        "name": name,
        "preset": row["preset"],
        "created_at": row["created_at"],
        "config": load_experiment(db, name),
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
