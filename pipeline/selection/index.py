"""A compact, column-wise snapshot of the signals a selection reads, for instant re-counts.

One scan of `problems JOIN scores` loads a few numeric columns per problem (about 30 bytes
each, no text) into numpy arrays. Counting kept/dropped per strategy or binning a score is
then a vectorised pass that takes milliseconds on a million problems, where the same SQL
aggregate takes seconds. The semantics are exactly `thresholds.kept_condition` (a unit test
compares both); the snapshot is rebuilt when the Filters screen opens or is refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.selection.thresholds import NEAR_DUP_COLUMN, Selection

_FETCH = 50_000
_FLOATS = ("nn_sim", NEAR_DUP_COLUMN, "decontam_overlap", "judge_score", "majority_share")


@dataclass
class SignalIndex:
    """Per-problem signals of one experiment (or all) as parallel arrays."""

    strategies: list[str]
    strategy: np.ndarray[Any, Any]  # int32 index into `strategies`
    ok: np.ndarray[Any, Any]  # bool: status = 'ok'
    has_first: np.ndarray[Any, Any]
    first_is_majority: np.ndarray[Any, Any]
    all_agree: np.ndarray[Any, Any]
    reference_agrees: np.ndarray[Any, Any]
    exact_dup: np.ndarray[Any, Any]
    mark: np.ndarray[Any, Any]  # int8: 0 none, 1 keep, 2 drop, 3 flag
    scores: dict[str, np.ndarray[Any, Any]]  # float64 (as SQLite compares), NaN where NULL

    @property
    def size(self) -> int:
        """Number of problems in the snapshot."""
        return int(self.strategy.shape[0])

    def kept(self, selection: Selection) -> np.ndarray[Any, Any]:
        """Boolean mask of kept problems: the same rule as `kept_condition`."""
        policy = {
            "none": np.ones(self.size, dtype=bool),
            "first": self.has_first,
            "majority": self.scores["majority_share"] > 0.5,
            "majority+first": self.first_is_majority,
            "strict": self.all_agree,
            "reference-verified": self.reference_agrees,
        }[selection.policy]
        with np.errstate(invalid="ignore"):
            keep = self.ok & policy
            if selection.drop_exact_dups:
                keep &= ~self.exact_dup
            if selection.max_nn_sim is not None:
                keep &= ~(self.scores[NEAR_DUP_COLUMN] >= selection.max_nn_sim)
            if selection.max_decontam is not None:
                keep &= ~(self.scores["decontam_overlap"] >= selection.max_decontam)
            if selection.min_judge is not None:
                keep &= self.scores["judge_score"] >= selection.min_judge
        if selection.honour_marks:
            keep = (self.mark == 1) | ((self.mark != 2) & keep)
        result: np.ndarray[Any, Any] = keep
        return result

    def counts(self, selection: Selection) -> list[tuple[str, int, int]]:
        """(strategy, kept, dropped) per strategy, like `thresholds.strategy_counts`."""
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


def load_index(db: Database, experiment_id: int | None) -> SignalIndex:
    """Scan the experiment's problems and scores once into a SignalIndex.

    SQLite packs the flags, the mark and the strategy into one integer per row so Python
    touches five values per problem; numpy converts each batch in C (NULL becomes NaN).
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
            f"SELECT (COALESCE({code}, 0) << 8) | (p.status = 'ok') "
            "| ((s.first_answer IS NOT NULL) << 1) | (COALESCE(s.first_is_majority, 0) << 2) "
            "| (COALESCE(s.all_agree, 0) << 3) | (COALESCE(s.reference_agrees, 0) << 4) "
            "| (COALESCE(s.is_exact_dup, 0) << 5) "
            "| (CASE m.mark WHEN 'keep' THEN 1 WHEN 'drop' THEN 2 WHEN 'flag' THEN 3 ELSE 0 END << 6), "
            f"{', '.join(f's.{c}' for c in _FLOATS)} FROM problems p "
            "LEFT JOIN scores s ON s.problem_id = p.id LEFT JOIN marks m ON m.problem_id = p.id "
            f"{where}",
            [*names, *params] if names else params,
        )
        if names
        else None
    )
    chunks = [np.empty((0, 1 + len(_FLOATS)))]
    while cursor is not None and (rows := cursor.fetchmany(_FETCH)):
        chunks.append(np.array(rows, dtype=np.float64))
    data = np.concatenate(chunks)
    packed = data[:, 0].astype(np.int64)

    def bit(n: int) -> np.ndarray[Any, Any]:
        flags: np.ndarray[Any, Any] = (packed >> n) & 1 == 1
        return flags

    return SignalIndex(
        strategies=names,
        strategy=(packed >> 8).astype(np.int32),
        ok=bit(0),
        has_first=bit(1),
        first_is_majority=bit(2),
        all_agree=bit(3),
        reference_agrees=bit(4),
        exact_dup=bit(5),
        mark=((packed >> 6) & 3).astype(np.int8),
        scores={name: data[:, 1 + k].copy() for k, name in enumerate(_FLOATS)},
    )


def fingerprint(db: Database, experiment_id: int | None) -> tuple[object, ...]:
    """Cheap evidence that signals changed: marks edited, or a job finished since."""
    marks = db.execute("SELECT COUNT(*), MAX(updated_at) FROM marks").fetchone()
    jobs = db.execute("SELECT MAX(ended_at), COUNT(*) FROM jobs").fetchone()
    return (experiment_id, *marks, *jobs)
