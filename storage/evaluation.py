"""Queries on `eval_runs` and `eval_items`: find or start a run, store graded items, read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

RUN_COLUMNS = (
    "id, run_key, experiment_id, arm_id, role, model, backend, model_id, training_run_id,"
    " checkpoint, checkpoint_step, benchmark, benchmark_source, items_digest, prompt_version,"
    " params_json, item_limit, status, n_items, n_graded, n_correct, n_failed, prompt_tokens,"
    " completion_tokens, seconds, created_at, finished_at"
)
ITEM_COLUMNS = (
    "item_index, item_id, subject, level, subset, question, gold, request_key, output,"
    " finish_reason, completion_tokens, extracted, extract_rule, verdict, reason, correct"
)


@dataclass(frozen=True)
class NewRun:
    """What identifies and describes an eval run before it has results."""

    run_key: str
    experiment_id: int | None
    arm_id: int | None
    role: str
    model: str
    backend: str
    model_id: str
    training_run_id: int | None
    checkpoint: str | None
    checkpoint_step: int | None
    benchmark: str
    benchmark_source: str
    items_digest: str
    prompt_version: str
    prompt_json: str
    params_json: str
    item_limit: int | None
    n_items: int


ItemRow = tuple[Any, ...]
"""One eval_items row in ITEM_COLUMNS order (without run_id)."""


def start_run(db: Database, run: NewRun) -> int:
    """The id of the run with `run.run_key`, created (status running) if new."""
    row = db.execute("SELECT id FROM eval_runs WHERE run_key = ?", [run.run_key]).fetchone()
    if row is not None:
        db.execute(
            "UPDATE eval_runs SET status = CASE WHEN n_graded >= n_items AND n_failed = 0"
            " THEN status ELSE 'running' END, benchmark_source = ?,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
            [run.benchmark_source, int(row[0])],
        )
        return int(row[0])
    cursor = db.execute(
        "INSERT INTO eval_runs (run_key, experiment_id, arm_id, role, model, backend, model_id,"
        " training_run_id, checkpoint, checkpoint_step, benchmark, benchmark_source,"
        " items_digest, prompt_version, prompt_json, params_json, item_limit, status, n_items)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        [
            run.run_key,
            run.experiment_id,
            run.arm_id,
            run.role,
            run.model,
            run.backend,
            run.model_id,
            run.training_run_id,
            run.checkpoint,
            run.checkpoint_step,
            run.benchmark,
            run.benchmark_source,
            run.items_digest,
            run.prompt_version,
            run.prompt_json,
            run.params_json,
            run.item_limit,
            run.n_items,
        ],
    )
    return int(cursor.lastrowid or 0)


def graded_indexes(db: Database, run_id: int) -> set[int]:
    """Item indexes of `run_id` already stored with a final verdict (failed ones excluded)."""
    rows = db.execute(
        "SELECT item_index FROM eval_items WHERE run_id = ? AND verdict != 'failed'", [run_id]
    ).fetchall()
    return {int(r[0]) for r in rows}


def store_items(db: Database, run_id: int, rows: Sequence[ItemRow]) -> None:
    """Insert or replace graded items of a run (call inside a transaction)."""
    marks = ", ".join("?" for _ in range(ITEM_COLUMNS.count(",") + 2))
    db.conn.executemany(
        f"INSERT OR REPLACE INTO eval_items (run_id, {ITEM_COLUMNS}) VALUES ({marks})",
        [(run_id, *row) for row in rows],
    )


def refresh_counts(db: Database, run_id: int, *, seconds: float) -> None:
    """Recount a run's graded/correct/failed items and add `seconds` of work to it."""
    db.execute(
        "UPDATE eval_runs SET"
        " n_graded = (SELECT COUNT(*) FROM eval_items WHERE run_id = :id),"
        " n_correct = (SELECT COALESCE(SUM(correct), 0) FROM eval_items WHERE run_id = :id),"
        " n_failed = (SELECT COUNT(*) FROM eval_items WHERE run_id = :id"
        "   AND verdict = 'failed'),"
        " seconds = seconds + :seconds,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = :id",
        {"id": run_id, "seconds": seconds},
    )


def finish_run(db: Database, run_id: int) -> None:
    """Close a run: pack its outcomes and set `done` (or `incomplete` when items failed).

    `outcomes` has one byte per item of the run, at its item_index: 1 correct, 0 not
    (wrong, unverifiable, failed or missing alike: accuracy counts them all as misses).
    """
    n_items = int(db.execute("SELECT n_items FROM eval_runs WHERE id = ?", [run_id]).fetchone()[0])
    flags = bytearray(n_items)
    for index, correct in db.execute(
        "SELECT item_index, correct FROM eval_items WHERE run_id = ?", [run_id]
    ).fetchall():
        if 0 <= int(index) < n_items:
            flags[int(index)] = 1 if correct else 0
    # Per-item completion tokens from the request cache, in one statement at the end.
    db.execute(
        "UPDATE eval_items SET completion_tokens = (SELECT r.completion_tokens FROM requests r"
        " WHERE r.key = eval_items.request_key) WHERE run_id = ? AND completion_tokens IS NULL",
        [run_id],
    )
    prompt_tokens, completion = db.execute(
        "SELECT COALESCE(SUM(r.prompt_tokens), 0), COALESCE(SUM(r.completion_tokens), 0)"
        " FROM eval_items i JOIN requests r ON r.key = i.request_key WHERE i.run_id = ?",
        [run_id],
    ).fetchone()
    db.execute(
        "UPDATE eval_runs SET outcomes = ?, prompt_tokens = ?, completion_tokens = ?,"
        " status = CASE WHEN n_failed = 0 AND n_graded >= n_items THEN 'done'"
        " ELSE 'incomplete' END, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')"
        " WHERE id = ?",
        [bytes(flags), int(prompt_tokens), int(completion), run_id],
    )


def run_row(db: Database, run_id: int) -> dict[str, Any] | None:
    """One eval_runs row (without the packed outcomes), or None."""
    cursor = db.execute(f"SELECT {RUN_COLUMNS} FROM eval_runs WHERE id = ?", [run_id])
    row = cursor.fetchone()
    return None if row is None else dict(zip(_names(cursor), row, strict=True))


def item_rows(
    db: Database,
    run_id: int,
    *,
    wrong_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A run's items in benchmark order (optionally only the ones not correct), paged."""
    sql = f"SELECT {ITEM_COLUMNS} FROM eval_items WHERE run_id = ?"
    if wrong_only:
        sql += " AND correct = 0"
    sql += " ORDER BY item_index LIMIT ? OFFSET ?"
    cursor = db.execute(sql, [run_id, -1 if limit is None else limit, offset])
    names = _names(cursor)
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def breakdown_rows(db: Database, run_id: int, column: str) -> list[tuple[str, int, int]]:
    """(value, items, correct) of a run grouped by subject, level or subset."""
    if column not in ("subject", "level", "subset"):
        raise ValueError(f"cannot group eval items by {column!r}")
    rows = db.execute(
        f"SELECT {column}, COUNT(*), SUM(correct) FROM eval_items WHERE run_id = ?"
        f" AND {column} IS NOT NULL GROUP BY {column} ORDER BY {column}",
        [run_id],
    ).fetchall()
    return [(str(r[0]), int(r[1]), int(r[2] or 0)) for r in rows]


def experiment_runs(db: Database, experiment_id: int) -> list[dict[str, Any]]:
    """Every eval run of an experiment with its packed outcomes, oldest first."""
    cursor = db.execute(
        f"SELECT {RUN_COLUMNS}, outcomes FROM eval_runs WHERE experiment_id = ? ORDER BY id",
        [experiment_id],
    )
    names = _names(cursor)
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def outcome_flags(db: Database, run_id: int) -> bytes:
    """A run's packed correct flags (see `finish_run`); empty before the run first finishes."""
    row = db.execute("SELECT outcomes FROM eval_runs WHERE id = ?", [run_id]).fetchone()
    return bytes(row[0]) if row is not None and row[0] is not None else b""


def _names(cursor: Any) -> list[str]:
    return [c[0] for c in cursor.description]
