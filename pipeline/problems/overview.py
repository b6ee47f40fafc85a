"""One experiment at a glance: how many problems each stage has reached, in one vocabulary.

generated: problems a strategy made and accepted (status ok); rejected: attempts a
strategy's parser or checks turned down (kept with their reason, never solved or exported);
kept: generated problems the selection keeps. A stage's count is "how many generated
problems it has checked", so a stage that has not run shows as not run, never as zero
findings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.selection import JOINS, Selection, kept_condition


@dataclass(frozen=True)
class StageCounts:
    """Counts of one experiment's problems (all but `rejected` count generated problems)."""

    generated: int
    rejected: int
    solved: int
    judged: int
    dedup_checked: int
    decontam_checked: int
    kept: int


def stage_counts(db: Database, experiment_id: int, selection: Selection) -> StageCounts:
    """Per-stage counts for the Experiments screen (one grouped query)."""
    condition, params = kept_condition(selection)
    ok = "p.status = 'ok'"
    row = db.execute(
        f"SELECT SUM({ok}), SUM(p.status = 'rejected'), "
        f"SUM({ok} AND s.n_solutions > 0), SUM({ok} AND s.judge_score IS NOT NULL), "
        f"SUM({ok} AND (s.dup_of_sim IS NOT NULL OR s.nn_sim IS NOT NULL "
        "OR s.is_exact_dup IS NOT NULL)), "
        f"SUM({ok} AND s.decontam_overlap IS NOT NULL), "
        f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) FROM problems p {JOINS} "
        "WHERE p.experiment_id = ?",
        [*params, experiment_id],
    ).fetchone()
    values = [int(v or 0) for v in row]
    return StageCounts(*values)
