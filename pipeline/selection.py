"""Selection policies by name, and kept/dropped counts per strategy: one grouped SQL query.

The policy conditions themselves live in `pipeline.thresholds` (shared with the blend,
export and the TUI's Filters screen, so all agree); this module accepts the policy names
used in the paper and in configs (`majority_first`, `reference_verified`, ...), resolves an
experiment by name, and reports counts. It never deletes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.signals import find_experiment
from pipeline.thresholds import POLICIES, Selection, kept_condition, strategy_counts

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


def kept_dropped(db: Database, experiment: str | int, selection: Selection) -> list[StrategyCount]:
    """Kept/dropped per strategy of an experiment (one grouped query; rejected rows count as dropped)."""
    experiment_id = find_experiment(db, experiment)
    return [
        StrategyCount(name, kept, dropped)
        for name, kept, dropped in strategy_counts(db, experiment_id, selection)
    ]
