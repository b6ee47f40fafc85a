"""What a selection keeps, by SQL: kept/dropped per strategy, the kept ids, score histograms.

Every count is one grouped query over `kept_condition`, the same condition the blend, the
export and the Problems screen use (the Filters screen counts the same rule in numpy, see
`pipeline.selection.index`). Nothing here ever deletes or regenerates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.experiments.lookup import resolve_experiment
from pipeline.selection.selection import JOINS, Selection, kept_condition, member_condition

# Stored scores a user may filter, sort or bin on: column -> label.
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


@dataclass(frozen=True)
class StrategyCount:
    """Kept and dropped problems of one strategy under a selection."""

    strategy: str
    kept: int
    dropped: int

    @property
    def total(self) -> int:
        return self.kept + self.dropped


def _experiment_where(experiment_id: int | None) -> tuple[str, list[object]]:
    return ("WHERE p.experiment_id = ?", [experiment_id]) if experiment_id else ("", [])


def without_unused_marks(db: Database, selection: Selection) -> Selection:
    """The same selection minus the marks join when no problem is marked (a third faster)."""
    if selection.honour_marks and db.execute("SELECT 1 FROM marks LIMIT 1").fetchone() is None:
        return replace(selection, honour_marks=False)
    return selection


def _grouped(
    db: Database,
    experiment_id: int | None,
    selections: list[Selection],
    members: str | None,
) -> list[tuple[str, list[int], int]]:
    """Per strategy: how many problems each of `selections` keeps, and the total; one scan."""
    sums, params = [], []
    for selection in selections:
        condition, condition_params = kept_condition(without_unused_marks(db, selection))
        sums.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)")
        params += condition_params
    where, where_params = _experiment_where(experiment_id)
    member, member_params = member_condition(members)
    where = f"{where} AND {member}" if where else f"WHERE {member}"
    rows = db.execute(
        f"SELECT p.strategy, {', '.join(sums)}, COUNT(*) "
        f"FROM problems p {JOINS} {where} GROUP BY p.strategy ORDER BY p.strategy",
        [*params, *where_params, *member_params],
    ).fetchall()
    return [(str(r[0]), [int(k or 0) for k in r[1:-1]], int(r[-1])) for r in rows]


def strategy_counts(
    db: Database, experiment_id: int | None, selection: Selection, *, members: str | None = None
) -> list[tuple[str, int, int]]:
    """(strategy, kept, dropped) for every strategy of the experiment (all when None); with
    `members`, of that arm's problems only."""
    return [
        (name, kept[0], total - kept[0])
        for name, kept, total in _grouped(db, experiment_id, [selection], members)
    ]


def kept_and_truncated(
    db: Database, experiment_id: int | None, selection: Selection, *, members: str | None = None
) -> dict[str, tuple[int, int]]:
    """Per strategy: (kept, dropped only because every solution that could train was cut),
    from one scan (a blend plan needs both)."""
    if selection.allow_truncated:
        return {
            name: (kept, 0)
            for name, kept, _ in strategy_counts(db, experiment_id, selection, members=members)
        }
    return {
        name: (kept[0], kept[1] - kept[0])
        for name, kept, _ in _grouped(db, experiment_id, [selection, _allowing(selection)], members)
    }


def kept_dropped(db: Database, experiment: str | int, selection: Selection) -> list[StrategyCount]:
    """Kept/dropped per strategy of an experiment (rejected problems count as dropped)."""
    experiment_id = resolve_experiment(db, experiment)
    return [
        StrategyCount(name, kept, dropped)
        for name, kept, dropped in strategy_counts(db, experiment_id, selection)
    ]


def kept_ids(db: Database, experiment_id: int | None, selection: Selection) -> list[int]:
    """Ids of the kept problems, ascending."""
    condition, params = kept_condition(without_unused_marks(db, selection))
    where, where_params = _experiment_where(experiment_id)
    where = f"{where} AND" if where else "WHERE"
    return [
        int(row[0])
        for row in db.execute(
            f"SELECT p.id FROM problems p {JOINS} {where} {condition} ORDER BY p.id",
            [*where_params, *params],
        )
    ]


def truncated_counts(
    db: Database, experiment_id: int | None, selection: Selection, *, members: str | None = None
) -> dict[str, int]:
    """Per strategy: problems dropped only because every solution that could train was cut.

    Zero when the selection allows truncated solutions. This is what a blend or an export
    reports as "skipped (truncated)".
    """
    counts = kept_and_truncated(db, experiment_id, selection, members=members)
    return {name: cut for name, (_, cut) in counts.items() if cut}


def _allowing(selection: Selection) -> Selection:
    return replace(selection, allow_truncated=True)


def _score_column(column: str) -> None:
    if column not in SCORE_COLUMNS:
        raise ConfigError(f"score '{column}' is unknown: use one of {', '.join(SCORE_COLUMNS)}")


def score_histogram(
    db: Database, experiment_id: int | None, column: str, bins: int = 20
) -> tuple[list[int], float, float]:
    """Counts of `column` in `bins` equal bins between its min and max: (counts, lo, hi)."""
    _score_column(column)
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
    _score_column(column)
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
