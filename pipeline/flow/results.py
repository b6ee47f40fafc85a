"""The results of an experiment's arms for the TUI: cells, the baseline, scaling curves, items.

The numbers are the evaluation runs the flow attached to each arm (and the base row);
deltas are against the baseline arm. The significance marks and the table itself come from
the results report where it is available (`pipeline.reports`), so the screen and
`flames results` show the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from pipeline.experiments.lookup import experiment_name
from pipeline.experiments.store import load_experiment
from pipeline.flow.graph import BASE_ARM, arm_configs
from pipeline.flow.scaling import ScalingCurve, scaling_curves
from storage import evaluation as eval_rows
from storage import experiments as experiment_rows
from storage import flow as flow_rows


@dataclass(frozen=True)
class Cell:
    """One arm on one benchmark."""

    n: int
    accuracy: float
    delta: float | None = None  # against the baseline arm, same benchmark
    significant: bool = False
    run_id: int | None = None


@dataclass(frozen=True)
class ResultRow:
    arm: str
    cells: dict[str, Cell]
    average: Cell | None


@dataclass
class ResultsTable:
    """Arms x benchmarks of one experiment."""

    experiment: str
    baseline: str | None
    benchmarks: list[str]
    rows: list[ResultRow] = field(default_factory=list)
    curves: list[ScalingCurve] = field(default_factory=list)

    def sort_key(self, row: ResultRow, column: int) -> float:
        """Accuracy in column `column` (the average after the benchmarks); missing sorts last."""
        cell = (
            row.average
            if column >= len(self.benchmarks)
            else row.cells.get(self.benchmarks[column])
        )
        return -1.0 if cell is None else cell.accuracy


def load_results(db: Database, experiment_id: int) -> ResultsTable:
    """The newest finished eval per (arm, benchmark) of the experiment, as a table."""
    name = experiment_name(db, experiment_id)
    config = load_experiment(db, name)
    arm_names = {int(a["id"]): str(a["name"]) for a in experiment_rows.arm_rows(db, experiment_id)}
    baseline = next((a.name for a in config.arms if a.baseline), None)
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for run in eval_rows.experiment_runs(db, experiment_id):
        if run.get("status") not in ("done", "finished"):
            continue
        arm = BASE_ARM if run["role"] == "base" else arm_names.get(int(run["arm_id"] or 0))
        if arm is None:
            continue
        newest[(arm, str(run["benchmark"]))] = run
    benchmarks = sorted({bench for _, bench in newest})
    order = [BASE_ARM, *arm_configs(config)]
    cells: dict[str, dict[str, Cell]] = {}
    for (arm, bench), run in newest.items():
        n, correct = int(run["n_items"]), int(run["n_correct"])
        cells.setdefault(arm, {})[bench] = Cell(n, correct / n if n else 0.0, run_id=int(run["id"]))
    table = ResultsTable(name, baseline, benchmarks)
    reference = cells.get(baseline or "", {})
    for arm in order:
        if arm not in cells:
            continue
        row_cells = {
            bench: _with_delta(cell, reference.get(bench) if arm != baseline else None)
            for bench, cell in cells[arm].items()
        }
        table.rows.append(ResultRow(arm, row_cells, _average(row_cells, benchmarks)))
    accuracy = {r.arm: r.average.accuracy for r in table.rows if r.average is not None}
    table.curves = scaling_curves(config, accuracy)
    return table


def _with_delta(cell: Cell, reference: Cell | None) -> Cell:
    if reference is None:
        return cell
    return Cell(cell.n, cell.accuracy, cell.accuracy - reference.accuracy, False, cell.run_id)


def _average(cells: dict[str, Cell], benchmarks: list[str]) -> Cell | None:
    if not benchmarks or any(b not in cells for b in benchmarks):
        return None
    accuracy = sum(cells[b].accuracy for b in benchmarks) / len(benchmarks)
    deltas = [cells[b].delta for b in benchmarks]
    delta = None if any(d is None for d in deltas) else sum(d or 0.0 for d in deltas) / len(deltas)
    return Cell(sum(cells[b].n for b in benchmarks), accuracy, delta)


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
