"""A compact, column-wise snapshot of the signals a selection reads, for instant re-counts.

One scan of `problems JOIN scores` (plus one pass over `solutions` for the training
candidates) loads a few numbers per problem (about 50 bytes, no text) into numpy arrays.
Counting kept/dropped per strategy or binning a score is then a vectorised pass that takes
milliseconds on a million problems, where the same SQL takes seconds. The semantics are
exactly `selection.kept_condition` (a unit test compares both on every policy); the snapshot
is rebuilt when the Filters screen opens or is refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.selection.policy import COMPLETE_SQL, RULES, TARGET_SQL, Target
from pipeline.selection.selection import (
    NEAR_DUP_COLUMN,
    THRESHOLD_COLUMNS,
    THRESHOLD_KINDS,
    THRESHOLDS,
    Selection,
)

_FETCH = 50_000
_FLOATS = ("nn_sim", NEAR_DUP_COLUMN, "decontam_overlap", "judge_score", "majority_share")
_TARGETS = tuple(Target)
# Bit layout of the packed per-problem integer.
_OK, _FIRST_IS_MAJORITY, _ALL_AGREE, _REFERENCE_AGREES, _EXACT_DUP = range(5)
_MARK = 5  # two bits: 0 none, 1 keep, 2 drop, 3 flag
_STRATEGY = 8


@dataclass
class SignalIndex:
    """Per-problem signals of one experiment (or all) as parallel arrays."""

    strategies: list[str]
    ids: np.ndarray[Any, Any]  # int64 problem ids
    strategy: np.ndarray[Any, Any]  # int32 index into `strategies`
    ok: np.ndarray[Any, Any]  # bool: status = 'ok'
    first_is_majority: np.ndarray[Any, Any]
    all_agree: np.ndarray[Any, Any]
    reference_agrees: np.ndarray[Any, Any]
    exact_dup: np.ndarray[Any, Any]
    mark: np.ndarray[Any, Any]  # int8: 0 none, 1 keep, 2 drop, 3 flag
    # target -> (has a candidate solution, has a complete candidate solution)
    candidates: dict[Target, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]
    scores: dict[str, np.ndarray[Any, Any]]  # float64 (as SQLite compares), NaN where NULL

    @property
    def size(self) -> int:
        """Number of problems in the snapshot."""
        return int(self.strategy.shape[0])

    def kept(self, selection: Selection) -> np.ndarray[Any, Any]:
        """Boolean mask of kept problems: the same rule as `kept_condition`."""
        found = RULES[selection.policy]
        with np.errstate(invalid="ignore"):
            keep = found.problem_mask(self).copy()
            if selection.drop_exact_dups:
                keep &= ~self.exact_dup
            for name in THRESHOLDS:
                value = getattr(selection, name)
                if value is None:
                    continue
                column = self.scores[THRESHOLD_COLUMNS[name]]
                if THRESHOLD_KINDS[name] == "min":
                    keep &= column >= value  # NaN (no score) fails a floor
                else:
                    keep &= ~(column >= value)  # NaN (no score) passes a ceiling
        if selection.honour_marks:
            keep = (self.mark == 1) | ((self.mark != 2) & keep)
        has_any, has_complete = self.candidates[found.target]
        result: np.ndarray[Any, Any] = (
            self.ok & keep & (has_any if selection.allow_truncated else has_complete)
        )
        return result

    def kept_ids(self, selection: Selection) -> list[int]:
        """Ids of the kept problems, ascending."""
        return sorted(int(i) for i in self.ids[self.kept(selection)])

    def counts(self, selection: Selection) -> list[tuple[str, int, int]]:
        """(strategy, kept, dropped) per strategy, like `counts.strategy_counts`."""
        n = len(self.strategies)
        total = np.bincount(self.strategy, minlength=n)
        kept = np.bincount(self.strategy[self.kept(selection)], minlength=n)
        return sorted(
            (name, int(kept[i]), int(total[i] - kept[i])) for i, name in enumerate(self.strategies)
        )

    def histogram(self, column: str, bins: int = 20) -> tuple[list[int], float, float]:
        """Counts in `bins` equal bins between the column's min and max: (counts, lo, hi)."""
        if column not in self.scores:
            raise ConfigError(
                f"score '{column}' is not in the filter snapshot: use one of "
                f"{', '.join(self.scores)}"
            )
        values = self.scores[column]
        values = values[~np.isnan(values)]
        if values.size == 0:
            return [0] * bins, 0.0, 0.0
        lo, hi = float(values.min()), float(values.max())
        counts, _ = np.histogram(values, bins=bins, range=(lo, hi if hi > lo else lo + 1.0))
        return [int(c) for c in counts], lo, hi


def _row_flags() -> str:
    """SQL over a solutions row `x` (and its problem's scores `s`): bit 0 the solution is
    complete, bit k+1 it is a candidate of target k. The same predicates as the SQL form."""
    flags = [f"COALESCE({COMPLETE_SQL}, 0)"]
    flags += [f"(COALESCE({TARGET_SQL[t]}, 0) << {k + 1})" for k, t in enumerate(_TARGETS)]
    return " | ".join(flags)


def _load_candidates(
    db: Database, where: str, params: list[Any], ids: np.ndarray[Any, Any]
) -> dict[Target, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Per problem and target: has a candidate solution, has a complete one.

    One pass over the solutions (a packed integer each), folded per problem in numpy: a
    GROUP BY in SQLite costs more than the scan itself.
    """
    cursor = db.execute(
        f"SELECT x.problem_id, {_row_flags()} FROM solutions x "
        "LEFT JOIN scores s ON s.problem_id = x.problem_id "
        f"WHERE x.problem_id IN (SELECT p.id FROM problems p {where})",
        params,
    )
    chunks = [np.empty((0, 2), dtype=np.int64)]
    while rows := cursor.fetchmany(_FETCH):
        chunks.append(np.array(rows, dtype=np.int64))
    rows_ = np.concatenate(chunks)
    order = np.argsort(ids, kind="stable")
    position = order[np.searchsorted(ids[order], rows_[:, 0])] if ids.size else rows_[:, 0]
    flags = rows_[:, 1]
    complete = flags & 1
    found: dict[Target, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    for k, target in enumerate(_TARGETS):
        candidate = (flags >> (k + 1)) & 1
        any_ = np.bincount(position, weights=candidate, minlength=ids.size) > 0
        done = np.bincount(position, weights=candidate & complete, minlength=ids.size) > 0
        found[target] = (any_[: ids.size], done[: ids.size])
    return found


def load_index(db: Database, experiment_id: int | None) -> SignalIndex:
    """Scan the experiment's problems, scores and solutions once into a SignalIndex.

    SQLite packs the flags, the mark and the strategy into one integer per row so Python
    touches a few values per problem; numpy converts each batch in C (NULL becomes NaN).
    """
    where, params = ("WHERE p.experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
    names = [
        str(r[0])
        for r in db.execute(
            f"SELECT DISTINCT p.strategy FROM problems p {where} ORDER BY 1", params
        )
    ]
    code = "CASE p.strategy " + " ".join(f"WHEN ? THEN {i}" for i in range(len(names))) + " END"
    cursor = (
        db.execute(
            f"SELECT p.id, (COALESCE({code}, 0) << {_STRATEGY}) | (p.status = 'ok') "
            f"| (COALESCE(s.first_is_majority, 0) << {_FIRST_IS_MAJORITY}) "
            f"| (COALESCE(s.all_agree, 0) << {_ALL_AGREE}) "
            f"| (COALESCE(s.reference_agrees, 0) << {_REFERENCE_AGREES}) "
            f"| (COALESCE(s.is_exact_dup, 0) << {_EXACT_DUP}) "
            "| (CASE m.mark WHEN 'keep' THEN 1 WHEN 'drop' THEN 2 WHEN 'flag' THEN 3 ELSE 0 END "
            f"<< {_MARK}), "
            f"{', '.join(f's.{c}' for c in _FLOATS)} FROM problems p "
            "LEFT JOIN scores s ON s.problem_id = p.id LEFT JOIN marks m ON m.problem_id = p.id "
            f"{where}",
            [*names, *params] if names else params,
        )
        if names
        else None
    )
    chunks = [np.empty((0, 2 + len(_FLOATS)))]
    while cursor is not None and (rows := cursor.fetchmany(_FETCH)):
        chunks.append(np.array(rows, dtype=np.float64))
    data = np.concatenate(chunks)
    packed = data[:, 1].astype(np.int64)
    ids = data[:, 0].astype(np.int64)

    def bit(n: int) -> np.ndarray[Any, Any]:
        flags: np.ndarray[Any, Any] = (packed >> n) & 1 == 1
        return flags

    return SignalIndex(
        strategies=names,
        ids=ids,
        strategy=(packed >> _STRATEGY).astype(np.int32),
        ok=bit(_OK),
        first_is_majority=bit(_FIRST_IS_MAJORITY),
        all_agree=bit(_ALL_AGREE),
        reference_agrees=bit(_REFERENCE_AGREES),
        exact_dup=bit(_EXACT_DUP),
        mark=((packed >> _MARK) & 3).astype(np.int8),
        candidates=_load_candidates(db, where, params, ids),
        scores={name: data[:, 2 + k].copy() for k, name in enumerate(_FLOATS)},
    )


def fingerprint(db: Database, experiment_id: int | None) -> tuple[object, ...]:
    """Cheap evidence that signals changed: marks edited, solutions added, a job finished."""
    marks = db.execute("SELECT COUNT(*), MAX(updated_at) FROM marks").fetchone()
    jobs = db.execute("SELECT MAX(ended_at), COUNT(*) FROM jobs").fetchone()
    solutions = db.execute("SELECT MAX(id) FROM solutions").fetchone()
    return (experiment_id, *marks, *jobs, *solutions)
