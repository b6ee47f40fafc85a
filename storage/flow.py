"""Rows of the run's stage graph: `flow_stages`, `flow_arm_stages` and `arm_problems`.

Only SQL lives here; what a stage is and how the graph is built is `pipeline.flow`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlite_utils import Database

from storage.database import transaction

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
NodeStatus = Literal["pending", "running", "done", "failed"]


@dataclass(frozen=True)
class FlowStage:
    """One stage node as stored."""

    id: int
    experiment_id: int
    stage: str
    key: str
    status: NodeStatus
    inputs: dict[str, Any]
    output: dict[str, Any]
    summary: str | None
    error: str | None
    started_at: str | None
    ended_at: str | None


@dataclass(frozen=True)
class ArmStage:
    """Where one arm stands at one stage: the node it uses there, with that node's status."""

    arm: str
    stage: str
    node: FlowStage


_COLUMNS = (
    "id, experiment_id, stage, key, status, inputs_json, output_json, summary, error, "
    "started_at, ended_at"
)


def _node(row: Sequence[Any]) -> FlowStage:
    return FlowStage(
        id=int(row[0]),
        experiment_id=int(row[1]),
        stage=str(row[2]),
        key=str(row[3]),
        status=row[4],
        inputs=json.loads(row[5] or "{}"),
        output=json.loads(row[6] or "{}"),
        summary=row[7],
        error=row[8],
        started_at=row[9],
        ended_at=row[10],
    )


def get_node(db: Database, experiment_id: int, stage: str, key: str) -> FlowStage | None:
    """The node of `stage` with `key`, or None when it never ran."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM flow_stages WHERE experiment_id = ? AND stage = ? AND key = ?",
        [experiment_id, stage, key],
    ).fetchone()
    return None if row is None else _node(row)


def nodes(db: Database, experiment_id: int) -> list[FlowStage]:
    """Every node an experiment's runs have recorded, oldest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM flow_stages WHERE experiment_id = ? ORDER BY id",
        [experiment_id],
    ).fetchall()
    return [_node(row) for row in rows]


def start_node(
    db: Database, experiment_id: int, stage: str, key: str, inputs: dict[str, Any]
) -> int:
    """Mark a node running (creating its row); returns its id."""
    with transaction(db):
        db.execute(
            "INSERT INTO flow_stages (experiment_id, stage, key, status, inputs_json, started_at)"
            f" VALUES (?, ?, ?, 'running', ?, {NOW}) ON CONFLICT (experiment_id, stage, key)"
            f" DO UPDATE SET status = 'running', error = NULL, started_at = {NOW},"
            " ended_at = NULL, inputs_json = excluded.inputs_json",
            [experiment_id, stage, key, json.dumps(inputs, sort_keys=True, default=str)],
        )
        row = db.execute(
            "SELECT id FROM flow_stages WHERE experiment_id = ? AND stage = ? AND key = ?",
            [experiment_id, stage, key],
        ).fetchone()
    return int(row[0])


def finish_node(
    db: Database,
    node_id: int,
    *,
    status: Literal["done", "failed"],
    summary: str | None = None,
    output: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Record how a node ended: done with its output, or failed with the error."""
    with transaction(db):
        db.execute(
            f"UPDATE flow_stages SET status = ?, summary = ?, output_json = ?, error = ?,"
            f" ended_at = {NOW} WHERE id = ?",
            [
                status,
                summary,
                json.dumps(output, sort_keys=True) if output is not None else None,
                error,
                node_id,
            ],
        )


def map_arm_stages(
    db: Database, experiment_id: int, mapping: Iterable[tuple[str, str, int]]
) -> None:
    """Record which node each (arm, stage) uses: rows of (arm, stage, node id)."""
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO flow_arm_stages (experiment_id, arm, stage, flow_stage_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (experiment_id, arm, stage)"
            " DO UPDATE SET flow_stage_id = excluded.flow_stage_id",
            [(experiment_id, arm, stage, node_id) for arm, stage, node_id in mapping],
        )


def arm_stages(db: Database, experiment_id: int) -> list[ArmStage]:
    """Every (arm, stage) of an experiment's last run with the node it used."""
    prefixed = ", ".join(f"n.{c.strip()}" for c in _COLUMNS.split(","))
    rows = db.execute(
        f"SELECT a.arm, a.stage, {prefixed} FROM flow_arm_stages a"
        " JOIN flow_stages n ON n.id = a.flow_stage_id WHERE a.experiment_id = ?"
        " ORDER BY a.arm, n.id",
        [experiment_id],
    ).fetchall()
    return [ArmStage(str(row[0]), str(row[1]), _node(row[2:])) for row in rows]


def set_arm_problems(db: Database, experiment_id: int, arm: str, problem_ids: Iterable[int]) -> int:
    """Replace the problems that belong to `arm`; returns how many it holds now."""
    rows = [(experiment_id, arm, int(pid)) for pid in problem_ids]
    with transaction(db):
        db.execute(
            "DELETE FROM arm_problems WHERE experiment_id = ? AND arm = ?", [experiment_id, arm]
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO arm_problems (experiment_id, arm, problem_id) VALUES (?, ?, ?)",
            rows,
        )
    return len({r[2] for r in rows})


def arm_problem_ids(db: Database, experiment_id: int, arm: str) -> list[int]:
    """The problems of `arm`, by id."""
    rows = db.execute(
        "SELECT problem_id FROM arm_problems WHERE experiment_id = ? AND arm = ?"
        " ORDER BY problem_id",
        [experiment_id, arm],
    ).fetchall()
    return [int(r[0]) for r in rows]


def problems_by_slot(db: Database, experiment_id: int, slot_keys: Sequence[str]) -> list[int]:
    """Ids of the experiment's problems generated for these slots (any status)."""
    found: list[int] = []
    for start in range(0, len(slot_keys), 500):
        part = list(slot_keys[start : start + 500])
        marks = ",".join("?" for _ in part)
        found += [
            int(r[0])
            for r in db.execute(
                f"SELECT id FROM problems WHERE experiment_id = ? AND slot_key IN ({marks})",
                [experiment_id, *part],
            ).fetchall()
        ]
    return sorted(found)


def strategy_prefix(
    db: Database, experiment_id: int, strategy: str, n: int | None, *, kept_only: bool
) -> list[int]:
    """The first `n` (None: all) problems generated for `strategy` (only 'ok' if `kept_only`)."""
    status = "AND status = 'ok'" if kept_only else ""
    rows = db.execute(
        f"SELECT id FROM problems WHERE experiment_id = ? AND strategy = ? {status}"
        " ORDER BY id LIMIT ?",
        [experiment_id, strategy, -1 if n is None else n],
    ).fetchall()
    return [int(r[0]) for r in rows]


def kept_arm_problems(
    db: Database, experiment_id: int, arm: str, joins: str, condition: str, params: list[Any]
) -> list[int]:
    """Ids of `arm`'s problems that a selection keeps (`joins`/`condition` over p, s, m)."""
    rows = db.execute(
        f"SELECT p.id FROM arm_problems a JOIN problems p ON p.id = a.problem_id {joins}"
        f" WHERE a.experiment_id = ? AND a.arm = ? AND {condition} ORDER BY p.id",
        [experiment_id, arm, *params],
    ).fetchall()
    return [int(r[0]) for r in rows]


def problem_texts(db: Database, problem_ids: Sequence[int]) -> dict[int, str]:
    """Problem id -> text, for the given ids."""
    found: dict[int, str] = {}
    ids = list(problem_ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" for _ in part)
        for pid, text in db.execute(
            f"SELECT id, text FROM problems WHERE id IN ({marks})", part
        ).fetchall():
            found[int(pid)] = str(text)
    return found
