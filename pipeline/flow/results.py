"""What the Results screen shows beyond `flames results`: scaling curves and similar problems.

The arms x benchmarks table itself is `pipeline.reports.results_table` (the same rows,
deltas and significance marks as `flames results`); this module adds the scaling view
over the arms' data sizes and the "training problems most like this item" look-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from pipeline.experiments.lookup import experiment_name
from pipeline.experiments.store import load_experiment
from pipeline.flow.scaling import ScalingCurve, scaling_curves
from pipeline.reports.results import ResultsTable, results_table
from storage import flow as flow_rows


@dataclass
class ResultsView:
    """The results table of an experiment and the scaling curves of its arms."""

    table: ResultsTable
    curves: list[ScalingCurve] = field(default_factory=list)


def load_results(db: Database, experiment_id: int) -> ResultsView:
    """`flames results` for the experiment, plus accuracy-vs-size curves per method."""
    table = results_table(db, experiment_id)
    config = load_experiment(db, experiment_name(db, experiment_id))
    accuracy = {
        row.arm: row.average.accuracy
        for row in table.rows
        if row.average is not None and row.role == "arm" and row.selection in ("", "last")
    }
    return ResultsView(table, scaling_curves(config, accuracy))


def similar_training_problems(
    db: Database, experiment_id: int, arm: str, text: str, *, limit: int = 3
) -> list[tuple[int, float, str]]:
    """The arm's problems most like `text` (token-set similarity): (id, 0..1, problem text)."""
    ids = flow_rows.arm_problem_ids(db, experiment_id, arm)
    texts = flow_rows.problem_texts(db, ids)
    if not texts or not text.strip():
        return []
    found = process.extract(text, texts, scorer=fuzz.token_set_ratio, limit=limit)
    return [(int(key), float(score) / 100.0, texts[key]) for _, score, key in found]
