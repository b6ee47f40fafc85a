"""Writes generated problems and their stage outputs; reads back what a run already did.

A problem row is keyed by (experiment, slot key), so writing the same slot twice
keeps the first row: reruns never duplicate problems. Rejected slots are rows too
(status 'rejected' with the reason), so rejection counts are queries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from pipeline.generation.runner import SlotOutcome
from pipeline.llm.spec import SamplingParams
from pipeline.strategies.definition import Strategy
from pipeline.strategies.parsing import normalise
from storage.database import transaction

_CHUNK = 500
_UPDATE = (
    "ON CONFLICT (experiment_id, slot_key) DO UPDATE SET text = excluded.text, "
    "reference_answer = excluded.reference_answer, status = excluded.status, "
    "reject_reason = excluded.reject_reason, template_version = excluded.template_version, "
    "model = excluded.model, params_json = excluded.params_json, "
    "request_keys = excluded.request_keys, content_hash = excluded.content_hash"
)


def text_hash(text: str) -> str | None:
    """sha256 of the normalised problem text, or None for an empty text."""
    if not text.strip():
        return None
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def stored_slots(
    db: Database, experiment_id: int, keys: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """slot key -> (status, reject_reason) for the keys already stored."""
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(keys), _CHUNK):
        part = list(keys[start : start + _CHUNK])
        marks = ",".join("?" for _ in part)
        rows = db.execute(
            f"SELECT slot_key, status, reject_reason FROM problems WHERE experiment_id = ? "
            f"AND slot_key IN ({marks})",
            [experiment_id, *part],
        ).fetchall()
        found.update({r[0]: (r[1], r[2]) for r in rows})
    return found


def store_outcomes(
    db: Database,
    experiment_id: int,
    strategy: Strategy,
    model: str,
    params: dict[str, Any],
    sampling: SamplingParams,
    templates: dict[str, int],
    outcomes: Sequence[SlotOutcome],
    *,
    replace: bool = False,
) -> int:
    """Write every ok or rejected outcome with its stage outputs; returns rows written.

    A slot already stored is kept as it is, unless `replace` (re-parsing): then its row
    is updated in place, keeping its id, and its stage outputs are written anew.
    """
    added = 0
    versions = json.dumps(templates, sort_keys=True)
    sampling_data = asdict(sampling)
    with transaction(db):
        for outcome in outcomes:
            if outcome.status == "failed":
                continue
            slot = outcome.slot
            params_json = json.dumps(
                {"strategy": params, "sampling": sampling_data, "inputs": slot.inputs()},
                sort_keys=True,
            )
            cursor = db.execute(
                "INSERT INTO problems (experiment_id, strategy, seed_id, taxonomy_node, text, "
                "reference_answer, answer_rule, status, reject_reason, template_version, model, "
                "params_json, request_keys, content_hash, slot_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                + (_UPDATE if replace else "ON CONFLICT (experiment_id, slot_key) DO NOTHING"),
                [
                    experiment_id,
                    strategy.name,
                    slot.seed.id if slot.seed else None,
                    slot.pick.node if slot.pick else None,
                    outcome.problem,
                    outcome.reference_answer,
                    strategy.answer_rule,
                    outcome.status,
                    outcome.reason,
                    versions,
                    model,
                    params_json,
                    json.dumps(outcome.request_keys),
                    text_hash(outcome.problem),
                    slot.key,
                ],
            )
            if cursor.rowcount != 1:
                continue
            added += 1
            problem_id = db.execute(
                "SELECT id FROM problems WHERE experiment_id = ? AND slot_key = ?",
                [experiment_id, slot.key],
            ).fetchone()[0]
            if replace:
                db.execute("DELETE FROM stage_outputs WHERE problem_id = ?", [problem_id])
            db.conn.executemany(
                "INSERT INTO stage_outputs (problem_id, stage, round, request_key, parsed_json) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        problem_id,
                        r.stage,
                        r.round,
                        r.request_key,
                        json.dumps(r.parsed, ensure_ascii=False),
                    )
                    for r in outcome.records
                ],
            )
    return added


def stored_count(db: Database, experiment_id: int, strategy: str) -> int:
    """How many slots of `strategy` the experiment has stored (ok or rejected)."""
    row = db.execute(
        "SELECT COUNT(*) FROM problems WHERE experiment_id = ? AND strategy = ?",
        [experiment_id, strategy],
    ).fetchone()
    return int(row[0])
