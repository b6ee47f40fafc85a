"""A selection policy plus score thresholds, as one SQL condition over `scores`.

Every score is stored; keeping or dropping a problem is this query, so the Filters screen,
the Problems screen's kept/dropped filter, and the blend all agree and never regenerate
anything. Policies follow FLAMES: strict (all answers agree), majority, first,
majority+first, and reference-verified (the answer kept from the seed agrees).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from pipeline.errors import ConfigError

# policy -> SQL over the `s` (scores) alias; "none" keeps every generated problem.
POLICIES: dict[str, str] = {
    "none": "1",
    "first": "s.first_answer IS NOT NULL",
    "majority": "s.majority_share > 0.5",
    "majority+first": "s.first_is_majority = 1",
    "strict": "s.all_agree = 1",
    "reference-verified": "s.reference_agrees = 1",
}

# Stored scores a user may filter or sort on: column -> label.
SCORE_COLUMNS: dict[str, str] = {
    "judge_score": "judge",
    "nn_sim": "near-dup sim",
    "dup_of_sim": "dup-of sim",
    "decontam_overlap": "decontam",
    "majority_share": "majority",
    "n_groups": "answer groups",
    "n_solutions": "solutions",
    "problem_chars": "chars",
    "solution_chars_mean": "solution chars",
}


# The stored score the near-duplicate threshold compares (written by `pipeline.dedup`).
NEAR_DUP_COLUMN = "dup_of_sim"


@dataclass(frozen=True)
class Selection:
    """What is kept: a policy and thresholds; None turns a threshold off."""

    policy: str = "first"
    max_nn_sim: float | None = 0.9
    max_decontam: float | None = 0.95
    min_judge: float | None = None
    drop_exact_dups: bool = True
    honour_marks: bool = True

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(
                f"selection policy '{self.policy}' is unknown: use one of {', '.join(POLICIES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """As plain data, for a dataset card or a blend row."""
        return asdict(self)


def kept_condition(selection: Selection) -> tuple[str, list[Any]]:
    """SQL (over aliases p=problems, s=scores, m=marks) true for kept problems, and params."""
    parts = ["p.status = 'ok'", f"({POLICIES[selection.policy]})"]
    params: list[Any] = []
    if selection.drop_exact_dups:
        parts.append("COALESCE(s.is_exact_dup, 0) = 0")
    if selection.max_nn_sim is not None:
        # Similarity to the closest problem that outranks this one, not to any neighbour:
        # of a near-duplicate family exactly one member survives at every threshold.
        parts.append(f"(s.{NEAR_DUP_COLUMN} IS NULL OR s.{NEAR_DUP_COLUMN} < ?)")
        params.append(selection.max_nn_sim)
    if selection.max_decontam is not None:
        parts.append("(s.decontam_overlap IS NULL OR s.decontam_overlap < ?)")
        params.append(selection.max_decontam)
    if selection.min_judge is not None:
        parts.append("s.judge_score >= ?")
        params.append(selection.min_judge)
    condition = " AND ".join(parts)
    if selection.honour_marks:
        condition = (
            f"(COALESCE(m.mark, '') = 'keep' OR (COALESCE(m.mark, '') != 'drop' AND {condition}))"
        )
    return condition, params


JOINS = "LEFT JOIN scores s ON s.problem_id = p.id LEFT JOIN marks m ON m.problem_id = p.id"


def strategy_counts(
    db: Database, experiment_id: int | None, selection: Selection
) -> list[tuple[str, int, int]]:
    """(strategy, kept, dropped) for every strategy of the experiment (all when None)."""
    condition, params = kept_condition(selection)
    where, where_params = (
        ("WHERE p.experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
    )
    rows = db.execute(
        f"SELECT p.strategy, SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), COUNT(*) "
        f"FROM problems p {JOINS} {where} GROUP BY p.strategy ORDER BY p.strategy",
        [*params, *where_params],
    ).fetchall()
    return [(str(r[0]), int(r[1] or 0), int(r[2]) - int(r[1] or 0)) for r in rows]


def score_histogram(
    db: Database, experiment_id: int | None, column: str, bins: int = 20
) -> tuple[list[int], float, float]:
    """Counts of `column` in `bins` equal bins between its min and max: (counts, lo, hi)."""
    if column not in SCORE_COLUMNS:
        raise ConfigError(f"score '{column}' is unknown: use one of {', '.join(SCORE_COLUMNS)}")
    join, params = (
        ("JOIN problems p ON p.id = s.problem_id WHERE p.experiment_id = ? AND", [experiment_id])
        if experiment_id
        else ("WHERE", [])
    )
    lo, hi = db.execute(
        f"SELECT MIN(s.{column}), MAX(s.{column}) FROM scores s {join} s.{column} IS NOT NULL",
        params,
    ).fetchone()
    counts = [0] * bins
    if lo is None:
        return counts, 0.0, 0.0
    lo, hi = float(lo), float(hi)
    width = (hi - lo) / bins or 1.0
    rows = db.execute(
        f"SELECT MIN(CAST((s.{column} - ?) / ? AS INTEGER), ?), COUNT(*) FROM scores s {join} "
        f"s.{column} IS NOT NULL GROUP BY 1",
        [lo, width, bins - 1, *params],
    ).fetchall()
    for index, count in rows:
        counts[int(index)] = int(count)
    return counts, lo, hi


def examples_near(
    db: Database, experiment_id: int | None, column: str, threshold: float, n: int = 3
) -> tuple[list[tuple[int, float, str]], list[tuple[int, float, str]]]:
    """Problems just at/above and just below a threshold: ([(id, score, text)], [...])."""
    if column not in SCORE_COLUMNS:
        raise ConfigError(f"score '{column}' is unknown: use one of {', '.join(SCORE_COLUMNS)}")
    exp = "AND p.experiment_id = ?" if experiment_id else ""
    extra = [experiment_id] if experiment_id else []
    base = (
        f"SELECT p.id, s.{column}, substr(p.text, 1, 400) FROM scores s "
        f"JOIN problems p ON p.id = s.problem_id WHERE s.{column} {{op}} ? {exp} "
        f"ORDER BY s.{column} {{order}} LIMIT ?"
    )
    above = db.execute(base.format(op=">=", order="ASC"), [threshold, *extra, n]).fetchall()
    below = db.execute(base.format(op="<", order="DESC"), [threshold, *extra, n]).fetchall()
    return (
        [(int(r[0]), float(r[1]), str(r[2])) for r in above],
        [(int(r[0]), float(r[1]), str(r[2])) for r in below],
    )
