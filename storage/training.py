"""Rows of `training_runs`, `training_metrics` and `training_checkpoints` (schema 0008).

Only SQL lives here; launching and watching a run is `pipeline.training`. A run is keyed by
its output folder (one run per folder: the same command again resumes it). Metrics are
narrow rows (run, name, step, value), written once per logging step by the worker, so a live
curve reads `metric_series(db, run, "loss", after_step=last_seen)`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.database import transaction

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
RUN_STATUSES = ("running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class TrainingRunRow:
    """One training run as stored."""

    id: int
    experiment_id: int | None
    arm_id: int | None
    method: str
    trainer: str
    base_model: str
    dataset_path: str
    dataset_sha256: str
    dataset_rows: int
    config_json: str
    output_dir: str
    job_id: int | None
    status: str
    error: str | None
    total_steps: int | None
    last_step: int
    last_checkpoint: str | None
    best_checkpoint: str | None
    best_step: int | None
    best_score: float | None
    selection_benchmarks: str | None
    selection_on_eval: int | None
    created_at: str
    started_at: str | None
    ended_at: str | None

    @property
    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.config_json)
        return data


@dataclass(frozen=True)
class CheckpointRow:
    """A saved checkpoint and, after checkpoint selection, its scores."""

    run_id: int
    step: int
    path: str
    scores: dict[str, float] | None
    score: float | None


_RUN_COLUMNS = (
    "id, experiment_id, arm_id, method, trainer, base_model, dataset_path, dataset_sha256, "
    "dataset_rows, config_json, output_dir, job_id, status, error, total_steps, last_step, "
    "last_checkpoint, best_checkpoint, best_step, best_score, selection_benchmarks, "
    "selection_on_eval, created_at, started_at, ended_at"
)


def insert_run(
    db: Database,
    *,
    method: str,
    trainer: str,
    base_model: str,
    dataset_path: str,
    dataset_sha256: str,
    dataset_rows: int,
    config: Mapping[str, Any],
    output_dir: str,
    experiment_id: int | None = None,
    arm_id: int | None = None,
    job_id: int | None = None,
) -> int:
    """Add a running run for `output_dir` and return its id."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO training_runs (experiment_id, arm_id, method, trainer, base_model, "
            "dataset_path, dataset_sha256, dataset_rows, config_json, output_dir, job_id, "
            f"status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', {NOW})",
            [
                experiment_id,
                arm_id,
                method,
                trainer,
                base_model,
                dataset_path,
                dataset_sha256,
                dataset_rows,
                json.dumps(config, sort_keys=True),
                output_dir,
                job_id,
            ],
        )
        return int(cursor.lastrowid or 0)


def get_run(db: Database, run_id: int) -> TrainingRunRow | None:
    """The run with this id, or None."""
    row = db.execute(f"SELECT {_RUN_COLUMNS} FROM training_runs WHERE id = ?", [run_id]).fetchone()
    return TrainingRunRow(*row) if row else None


def run_for_output(db: Database, output_dir: str) -> TrainingRunRow | None:
    """The run that trains into `output_dir`, or None."""
    row = db.execute(
        f"SELECT {_RUN_COLUMNS} FROM training_runs WHERE output_dir = ?", [output_dir]
    ).fetchone()
    return TrainingRunRow(*row) if row else None


def list_runs(
    db: Database, *, experiment_id: int | None = None, limit: int = 200
) -> list[TrainingRunRow]:
    """Newest runs first, of one experiment or all."""
    where, args = ("WHERE experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
    rows = db.execute(
        f"SELECT {_RUN_COLUMNS} FROM training_runs {where} ORDER BY id DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    return [TrainingRunRow(*row) for row in rows]


def restart_run(db: Database, run_id: int, *, job_id: int | None) -> None:
    """Mark a run running again (a resume), clearing the last error."""
    with transaction(db):
        db.execute(
            "UPDATE training_runs SET status = 'running', error = NULL, ended_at = NULL, "
            f"job_id = COALESCE(?, job_id), started_at = {NOW} WHERE id = ?",
            [job_id, run_id],
        )


def finish_run(db: Database, run_id: int, *, status: str, error: str | None = None) -> None:
    """Mark a run done, failed or cancelled, with the error that stopped it."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    with transaction(db):
        db.execute(
            f"UPDATE training_runs SET status = ?, error = ?, ended_at = {NOW} WHERE id = ?",
            [status, error, run_id],
        )


def set_progress(
    db: Database,
    run_id: int,
    *,
    last_step: int | None = None,
    total_steps: int | None = None,
    last_checkpoint: str | None = None,
) -> None:
    """Update where a run stands (only the values given)."""
    sets = {"last_step": last_step, "total_steps": total_steps, "last_checkpoint": last_checkpoint}
    given = {key: value for key, value in sets.items() if value is not None}
    if not given:
        return
    with transaction(db):
        db.execute(
            f"UPDATE training_runs SET {', '.join(f'{key} = ?' for key in given)} WHERE id = ?",
            [*given.values(), run_id],
        )


def add_metrics(db: Database, run_id: int, step: int, metrics: Mapping[str, float]) -> None:
    """One logging step's metrics; a step replayed after a resume replaces its old values."""
    with transaction(db):
        db.conn.executemany(
            "INSERT OR REPLACE INTO training_metrics (run_id, name, step, value) "
            "VALUES (?, ?, ?, ?)",
            [(run_id, name, step, float(value)) for name, value in metrics.items()],
        )
        db.execute(
            "UPDATE training_runs SET last_step = MAX(last_step, ?) WHERE id = ?", [step, run_id]
        )


def metric_series(
    db: Database, run_id: int, name: str, *, after_step: int = -1
) -> list[tuple[int, float]]:
    """(step, value) of one metric after `after_step`, in step order: a curve, or its new tail."""
    rows = db.execute(
        "SELECT step, value FROM training_metrics WHERE run_id = ? AND name = ? AND step > ? "
        "ORDER BY step",
        [run_id, name, after_step],
    ).fetchall()
    return [(int(step), float(value)) for step, value in rows]


def metric_names(db: Database, run_id: int) -> list[str]:
    """The metrics a run has logged (loss, learning_rate, grad_norm, rewards/margins, ...)."""
    rows = db.execute(
        "SELECT DISTINCT name FROM training_metrics WHERE run_id = ? ORDER BY name", [run_id]
    ).fetchall()
    return [str(row[0]) for row in rows]


def latest_metrics(db: Database, run_id: int) -> dict[str, float]:
    """Each metric's value at the newest step it was logged."""
    rows = db.execute(
        "SELECT name, value FROM training_metrics AS m WHERE run_id = ? AND step = "
        "(SELECT MAX(step) FROM training_metrics WHERE run_id = m.run_id AND name = m.name)",
        [run_id],
    ).fetchall()
    return {str(name): float(value) for name, value in rows}


def add_checkpoint(db: Database, run_id: int, step: int, path: str) -> None:
    """A checkpoint saved at `step` (a re-save after a resume keeps its scores cleared)."""
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO training_checkpoints (run_id, step, path) VALUES (?, ?, ?)",
            [run_id, step, path],
        )
        db.execute(
            "UPDATE training_runs SET last_checkpoint = ? WHERE id = ? AND "
            "(SELECT MAX(step) FROM training_checkpoints WHERE run_id = ?) = ?",
            [path, run_id, run_id, step],
        )


def list_checkpoints(db: Database, run_id: int) -> list[CheckpointRow]:
    """A run's checkpoints in step order, with scores where selection ran."""
    rows = db.execute(
        "SELECT run_id, step, path, scores_json, score FROM training_checkpoints "
        "WHERE run_id = ? ORDER BY step",
        [run_id],
    ).fetchall()
    return [
        CheckpointRow(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3]) if r[3] else None, r[4])
        for r in rows
    ]


def set_checkpoint_scores(
    db: Database, run_id: int, step: int, scores: Mapping[str, float], score: float
) -> None:
    """Record a checkpoint's selection scores (per benchmark, and their mean)."""
    with transaction(db):
        db.execute(
            "UPDATE training_checkpoints SET scores_json = ?, score = ? "
            "WHERE run_id = ? AND step = ?",
            [json.dumps(dict(scores), sort_keys=True), score, run_id, step],
        )


def set_selection(
    db: Database,
    run_id: int,
    *,
    best_checkpoint: str,
    best_step: int,
    best_score: float,
    benchmarks: list[str],
    on_eval_sets: bool,
) -> None:
    """Record the checkpoint chosen by selection and on which benchmarks (a leak if on_eval_sets)."""
    with transaction(db):
        db.execute(
            "UPDATE training_runs SET best_checkpoint = ?, best_step = ?, best_score = ?, "
            "selection_benchmarks = ?, selection_on_eval = ? WHERE id = ?",
            [
                best_checkpoint,
                best_step,
                best_score,
                json.dumps(benchmarks),
                int(on_eval_sets),
                run_id,
            ],
        )
