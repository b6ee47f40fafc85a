"""`flames dedup EXPERIMENT`: store near-duplicate signals per problem, so thresholds are queries.

Per problem (a `scores` row, upserted): `is_exact_dup`, the nearest other
problem (`nn_id`, `nn_sim`, kept down to a low floor), the most similar
problem that outranks it (`dup_of_id`, `dup_of_sim`) and `cluster_id` (the
representative's problem id at the run's threshold). Pairs at or above the
threshold go to `duplicates` (problem_id < other_id). Problems are never deleted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlite_utils import Database

from pipeline.dedup.duplicates import DedupResult, find_duplicates
from pipeline.dedup.files import DedupSummary, summarize
from pipeline.dedup.search import SearchOptions
from pipeline.errors import ConfigError
from pipeline.experiments.lookup import resolve_experiment
from pipeline.progress import Reporter, ignore
from storage.database import transaction

DEFAULT_NN_FLOOR = 0.5
BATCH = 20_000
_DEDUP_COLUMNS = ("is_exact_dup", "nn_id", "nn_sim", "cluster_id", "dup_of_id", "dup_of_sim")


def _numeric_score_columns(db: Database) -> list[str]:
    return [
        c.name
        for c in db.table("scores").columns
        if c.type.upper() in ("REAL", "INTEGER") and c.name != "problem_id"
    ]


def load_problems(
    db: Database, exp_id: int, prefer: str | None
) -> tuple[list[int], list[str], list[float] | None]:
    """Ids and texts of the experiment's ok problems (by id), and the preference column if any."""
    if prefer is not None and prefer not in _numeric_score_columns(db):
        choices = ", ".join(_numeric_score_columns(db))
        raise ConfigError(
            f"--prefer '{prefer}' is not a numeric scores column: use one of {choices}"
        )
    column = f"s.{prefer}" if prefer else "NULL"
    rows = db.execute(
        f"SELECT p.id, p.text, {column} FROM problems p "
        "LEFT JOIN scores s ON s.problem_id = p.id "
        "WHERE p.experiment_id = ? AND p.status = 'ok' ORDER BY p.id",
        [exp_id],
    ).fetchall()
    ids = [int(r[0]) for r in rows]
    texts = [r[1] or "" for r in rows]
    prefs = [float("-inf") if r[2] is None else float(r[2]) for r in rows] if prefer else None
    return ids, texts, prefs


def _score_rows(result: DedupResult, ids: list[int]) -> Iterator[tuple[Any, ...]]:
    pid = np.asarray(ids, np.int64)
    assert result.dup_of is not None and result.dup_of_sim is not None
    nn, rep, dup = result.nn.tolist(), result.representative.tolist(), result.dup_of.tolist()
    nn_sim, dup_sim = result.nn_sim.tolist(), result.dup_of_sim.tolist()
    exact = result.is_exact_dup.tolist()
    for i, problem in enumerate(pid.tolist()):
        yield (
            problem,
            int(exact[i]),
            ids[nn[i]] if nn[i] >= 0 else None,
            round(nn_sim[i], 6) if nn[i] >= 0 else None,
            ids[rep[i]],
            ids[dup[i]] if dup[i] >= 0 else None,
            round(dup_sim[i], 6) if dup[i] >= 0 else None,
        )


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def store_result(
    db: Database, exp_id: int, ids: list[int], result: DedupResult, params: dict[str, Any]
) -> int:
    """Write scores rows, the duplicates pairs and the run record in one transaction."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in _DEDUP_COLUMNS)
    upsert = (
        f"INSERT INTO scores (problem_id, {', '.join(_DEDUP_COLUMNS)}) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(problem_id) DO UPDATE SET {updates}, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')"
    )
    pid = np.asarray(ids, np.int64)
    pairs = 0
    with transaction(db):
        conn = db.conn
        in_exp = "SELECT id FROM problems WHERE experiment_id = ?"
        conn.execute(
            f"DELETE FROM duplicates WHERE problem_id IN ({in_exp}) OR other_id IN ({in_exp})",
            [exp_id, exp_id],
        )
        cleared = ", ".join(f"{c} = NULL" for c in _DEDUP_COLUMNS)
        conn.execute(
            f"UPDATE scores SET {cleared} WHERE problem_id IN "
            "(SELECT id FROM problems WHERE experiment_id = ? AND status != 'ok')",
            [exp_id],
        )
        for batch in _batches(_score_rows(result, ids), BATCH):
            conn.executemany(upsert, batch)
        for a, b, s in result.item_pairs():
            rows = zip(pid[a].tolist(), pid[b].tolist(), np.round(s, 6).tolist(), strict=True)
            conn.executemany(
                "INSERT INTO duplicates (problem_id, other_id, score) VALUES (?, ?, ?)", rows
            )
            pairs += len(a)
        params = {**params, "pairs": pairs}
        conn.execute(
            "INSERT INTO signal_runs (experiment_id, kind, params_json) "
            "VALUES (?, 'dedup', ?) ON CONFLICT(experiment_id, kind) DO UPDATE SET "
            "params_json = excluded.params_json, "
            "created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [exp_id, json.dumps(params)],
        )
    return pairs


def dedup_experiment(
    db: Database,
    name: str,
    threshold: float,
    *,
    nn_floor: float = DEFAULT_NN_FLOOR,
    prefer: str | None = None,
    options: SearchOptions | None = None,
    progress: Reporter = ignore,
) -> DedupSummary:
    """Find duplicates among an experiment's ok problems and store the signals."""
    started = time.perf_counter()
    exp_id = resolve_experiment(db, name)
    ids, texts, prefs = load_problems(db, exp_id, prefer)
    opts = options or SearchOptions()
    result = find_duplicates(
        texts, threshold, nn_floor=nn_floor, preference=prefs, options=opts, progress=progress
    )
    del texts
    params = {
        "threshold": threshold,
        "nn_floor": min(nn_floor, threshold),
        "prefer": prefer,
        "options": asdict(opts),
        "problems": len(ids),
    }
    pairs = store_result(db, exp_id, ids, result, params)
    return summarize(result, pairs, started)
