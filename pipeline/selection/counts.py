"""Selection policies by name, and kept/dropped counts per strategy: one grouped SQL query.

The policy conditions themselves live in `pipeline.selection.thresholds` (shared with the blend,
export and the TUI's Filters screen, so all agree); this module accepts the policy names
used in the paper and in configs (`majority_first`, `reference_verified`, ...), resolves an
experiment by name, and reports counts. It never deletes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.experiments.lookup import resolve_experiment
from pipeline.selection.thresholds import (
    NEAR_DUP_COLUMN,
    POLICIES,
    Selection,
    kept_condition,
    strategy_counts,
)

# Spellings accepted for each policy -> its key in `thresholds.POLICIES`.
POLICY_NAMES: dict[str, str] = {
    "strict": "strict",
    "all_agree": "strict",
    "majority": "majority",
    "first": "first",
    "majority_first": "majority+first",
    "majority+first": "majority+first",
    "reference_verified": "reference-verified",
    "reference-verified": "reference-verified",
    "reference": "reference-verified",
    "none": "none",
    "all": "none",
}


@dataclass(frozen=True)
class StrategyCount:
    """Kept and dropped problems of one strategy under a selection."""

    strategy: str
    kept: int
    dropped: int

    @property
    def total(self) -> int:
        return self.kept + self.dropped


def resolve_policy(name: str) -> str:
    """The canonical policy key for `name`; a one-line error listing the choices otherwise."""
    key = POLICY_NAMES.get(name.strip().lower().replace(" ", "_"))
    if key is None or key not in POLICIES:
        choices = "strict, majority, first, majority_first, reference_verified, none"
        raise ConfigError(f"selection policy '{name}' is unknown: use one of {choices}")
    return key


def make_selection(
    policy: str,
    *,
    judge_min: float | None = None,
    max_nn_sim: float | None = None,
    max_decontam: float | None = None,
    drop_exact_dups: bool = False,
    honour_marks: bool = True,
) -> Selection:
    """A `Selection` from user-facing names; None turns a threshold off.

    Thresholds drop at or above `max_nn_sim` / `max_decontam` (the paper drops >= 0.95
    8-gram overlap) and below `judge_min`.
    """
    for name, value in (
        ("judge_min", judge_min),
        ("max_nn_sim", max_nn_sim),
        ("max_decontam", max_decontam),
    ):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} = {value}: give a number between 0 and 1")
    return Selection(
        policy=resolve_policy(policy),
        max_nn_sim=max_nn_sim,
        max_decontam=max_decontam,
        min_judge=judge_min,
        drop_exact_dups=drop_exact_dups,
        honour_marks=honour_marks,
    )


def where_clause(selection: Selection) -> tuple[str, list[float]]:
    """SQL over `problems p LEFT JOIN scores s LEFT JOIN marks m`, true for kept problems."""
    condition, params = kept_condition(selection)
    return condition, [float(p) for p in params]


def without_unused_marks(db: Database, selection: Selection) -> Selection:
    """The same selection minus the marks join when no problem is marked (a third faster)."""
    if selection.honour_marks and db.execute("SELECT 1 FROM marks LIMIT 1").fetchone() is None:
        return replace(selection, honour_marks=False)
    return selection


def kept_dropped(db: Database, experiment: str | int, selection: Selection) -> list[StrategyCount]:
    """Kept/dropped per strategy of an experiment (one grouped query; rejected rows count as dropped)."""
    experiment_id = resolve_experiment(db, experiment)
    selection = without_unused_marks(db, selection)
    return [
        StrategyCount(name, kept, dropped)
        for name, kept, dropped in strategy_counts(db, experiment_id, selection)
    ]


# Thresholds a slider moves -> the indexed `scores` column it compares (migration 0002).
_SLIDERS = {
    "max_nn_sim": NEAR_DUP_COLUMN,
    "max_decontam": "decontam_overlap",
    "min_judge": "judge_score",
}
_INDEXES = {
    NEAR_DUP_COLUMN: "scores_dup_of_sim",
    "decontam_overlap": "scores_decontam",
    "judge_score": "scores_judge",
}


class LiveCounts:
    """Kept/dropped per strategy for a Filters screen, updated cheaply as one threshold slides.

    The first call runs the full grouped query. When the next selection differs from the
    last in one threshold only, only the problems whose score lies between the old and the
    new value can change side, so an indexed range query over that band gives the exact
    difference. Anything else (policy, a threshold switched on or off) runs the full query.
    Call `refresh()` after scores change underneath (a job finished).
    """

    def __init__(self, db: Database, experiment: str | int) -> None:
        self.db = db
        self.experiment_id = resolve_experiment(db, experiment)
        self._selection: Selection | None = None
        self._counts: dict[str, list[int]] = {}  # strategy -> [kept, total]
        self.full_queries = 0
        self.band_queries = 0

    def refresh(self) -> None:
        """Forget cached counts: the next call runs the full query."""
        self._selection = None

    def counts(self, selection: Selection) -> list[StrategyCount]:
        """Kept/dropped per strategy under `selection`, same result as `kept_dropped`."""
        selection = without_unused_marks(self.db, selection)
        band = self._band(selection)
        if band is None:
            self._full(selection)
        else:
            self._apply_band(selection, *band)
        self._selection = selection
        return [
            StrategyCount(name, kept, total - kept)
            for name, (kept, total) in sorted(self._counts.items())
        ]

    def _band(self, selection: Selection) -> tuple[str, float, float] | None:
        old = self._selection
        if old is None:
            return None
        changed = [
            f
            for f in ("policy", "drop_exact_dups", "honour_marks", *_SLIDERS)
            if getattr(old, f) != getattr(selection, f)
        ]
        if len(changed) != 1 or changed[0] not in _SLIDERS:
            return None
        before, after = getattr(old, changed[0]), getattr(selection, changed[0])
        if before is None or after is None:
            return None
        return _SLIDERS[changed[0]], min(before, after), max(before, after)

    def _full(self, selection: Selection) -> None:
        self.full_queries += 1
        self._counts = {
            name: [kept, kept + dropped]
            for name, kept, dropped in strategy_counts(self.db, self.experiment_id, selection)
        }

    def _apply_band(self, selection: Selection, column: str, lo: float, hi: float) -> None:
        self.band_queries += 1
        assert self._selection is not None
        new_condition, new_params = kept_condition(selection)
        old_condition, old_params = kept_condition(self._selection)
        rows = self.db.execute(
            f"SELECT p.strategy, SUM(CASE WHEN {new_condition} THEN 1 ELSE 0 END) - "
            f"SUM(CASE WHEN {old_condition} THEN 1 ELSE 0 END) "
            # CROSS JOIN keeps the band (scores, by its index) as the outer loop.
            f"FROM scores s INDEXED BY {_INDEXES[column]} CROSS JOIN problems p "
            f"ON p.id = s.problem_id "
            f"LEFT JOIN marks m ON m.problem_id = p.id "
            f"WHERE s.{column} >= ? AND s.{column} < ? AND p.experiment_id = ? "
            f"GROUP BY p.strategy",
            [*new_params, *old_params, lo, hi, self.experiment_id],
        ).fetchall()
        for name, delta in rows:
            self._counts.setdefault(str(name), [0, 0])[0] += int(delta or 0)
