"""The results table of an experiment: arms x benchmarks, like FLAMES Table 2.

Rows are the base student (the reference row of the experiment) and every arm that has
eval runs; columns are the benchmarks and their average. Each cell holds the accuracy, its
Wilson 95% interval, the delta against the reference row on the same items, and a paired
bootstrap p-value with its mark. The reference is the baseline arm, else the base student.

Built from the packed per-item outcomes of each eval run (`eval_runs.outcomes`), so a
table over millions of items reads a few kilobytes per run and draws its resamples as
counts (see `pipeline.evaluation.stats`).

Checkpoints: an arm evaluated at several checkpoints of its training run shows its last
checkpoint; with `checkpoint="best"` it also shows the checkpoint with the best mean
accuracy on the selection benchmarks (the paper: best of K on GSM8K+MATH), labelled so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from pipeline.benchmarks import BENCHMARKS
from pipeline.config import ExperimentConfig
from pipeline.evaluation.report import Score, benchmark_score
from pipeline.evaluation.stats import (
    accuracy_draws,
    mark_for,
    paired_counts,
    paired_delta_draws,
    seed_for,
    summarise,
    summarise_many,
    wilson,
)
from pipeline.experiments.lookup import experiment_name, resolve_experiment
from pipeline.experiments.store import load_experiment
from storage import evaluation as eval_rows
from storage import experiments as experiment_rows

BASE = "base"  # the row label of the base student
# The paper selects the checkpoint by its GSM8K+MATH average.
DEFAULT_SELECT_ON = ("gsm8k", "math", "math500")


@dataclass(frozen=True)
class Cell:
    """One row x benchmark: accuracy with its interval, and the comparison with the reference.

    `delta`, `p` and `paired` are None/0 for the reference row itself and where the two
    rows' items differ (another file or limit); `delta` is then None too.
    """

    benchmark: str
    run_id: int
    n: int
    correct: int
    ci95: tuple[float, float]
    delta: float | None = None
    p: float | None = None
    paired: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def mark(self) -> str:
        return mark_for(self.p)

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 6),
            "ci95": [round(self.ci95[0], 6), round(self.ci95[1], 6)],
            "delta": None if self.delta is None else round(self.delta, 6),
            "p": None if self.p is None else round(self.p, 6),
            "mark": self.mark,
            "paired": self.paired,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class Average:
    """The mean accuracy over the table's benchmarks (only when the row has all of them)."""

    accuracy: float
    ci95: tuple[float, float]  # stratified percentile bootstrap
    delta: float | None = None
    p: float | None = None

    @property
    def mark(self) -> str:
        return mark_for(self.p)

    def as_json(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 6),
            "ci95": [round(self.ci95[0], 6), round(self.ci95[1], 6)],
            "delta": None if self.delta is None else round(self.delta, 6),
            "p": None if self.p is None else round(self.p, 6),
            "mark": self.mark,
        }


@dataclass
class Row:
    """An arm (or the base student) at one checkpoint."""

    arm: str
    role: str  # arm | base
    baseline: bool
    model: str
    checkpoint: str | None  # the checkpoint shown (None: the model as given)
    selection: str  # "" (one checkpoint), "last", or "best of K on gsm8k+math500"
    cells: dict[str, Cell] = field(default_factory=dict)
    average: Average | None = None

    @property
    def label(self) -> str:
        """The row's name in a table: the arm, and which checkpoint when there are several."""
        if not self.selection:
            return self.arm
        where = f": {self.checkpoint}" if self.checkpoint else ""
        return f"{self.arm} ({self.selection}{where})"

    def as_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "role": self.role,
            "baseline": self.baseline,
            "model": self.model,
            "checkpoint": self.checkpoint,
            "selection": self.selection,
            "benchmarks": {name: cell.as_json() for name, cell in self.cells.items()},
            "average": None if self.average is None else self.average.as_json(),
        }


@dataclass
class ResultsTable:
    """Arms x benchmarks of one experiment, with the reference row the deltas are against."""

    experiment: str
    benchmarks: list[str]
    rows: list[Row]
    reference: str | None
    resamples: int
    seed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "benchmarks": self.benchmarks,
            "reference": self.reference,
            "method": {
                "ci95": "Wilson score interval per benchmark; stratified percentile "
                "bootstrap for the average",
                "significance": "two-sided paired bootstrap over the same items "
                f"({self.resamples} resamples, seed {self.seed}); * p<0.05, ** p<0.01",
            },
            "rows": [row.as_json() for row in self.rows],
        }


def results_table(
    db: Database,
    experiment: str | int,
    *,
    checkpoint: str | None = None,
    resamples: int | None = None,
) -> ResultsTable:
    """The results table of `experiment` from its stored eval runs.

    Args:
        checkpoint: "last" or "best" (None: the config's `evaluation.checkpoint`).
        resamples: bootstrap resamples (None: the config's `evaluation.resamples`).
    """
    experiment_id = resolve_experiment(db, experiment)
    name = experiment_name(db, experiment_id)
    config = load_experiment(db, name)
    checkpoint = checkpoint or config.evaluation.checkpoint
    if checkpoint not in ("last", "best"):
        raise ValueError(f"checkpoint must be last or best, not {checkpoint!r}")
    resamples = resamples or config.evaluation.resamples
    runs = eval_rows.experiment_runs(db, experiment_id)
    arms = experiment_rows.arm_rows(db, experiment_id)
    benchmarks = _benchmark_order(config, runs)
    select_on = list(config.training.select_benchmarks or DEFAULT_SELECT_ON)
    rows: list[Row] = []
    outcomes: dict[int, npt.NDArray[np.uint8]] = {}
    digests: dict[int, str] = {}
    for run in runs:
        outcomes[int(run["id"])] = np.frombuffer(run["outcomes"] or b"", dtype=np.uint8)
        digests[int(run["id"])] = str(run["items_digest"])
    groups = [(BASE, "base", None, False)] + [
        (str(a["name"]), "arm", int(a["id"]), bool(a["is_baseline"])) for a in arms
    ]
    for label, role, arm_id, baseline in groups:
        mine = [r for r in runs if r["role"] == role and (role == "base" or r["arm_id"] == arm_id)]
        rows.extend(_rows_for(label, role, baseline, mine, checkpoint, select_on, outcomes))
    reference = _reference(rows)
    seed = config.experiment.seed
    for row in rows:
        _compare(row, reference, benchmarks, outcomes, digests, resamples, seed)
    return ResultsTable(
        experiment=name,
        benchmarks=benchmarks,
        rows=rows,
        reference=None if reference is None else reference.label,
        resamples=resamples,
        seed=seed,
    )


def _benchmark_order(config: ExperimentConfig, runs: Sequence[dict[str, Any]]) -> list[str]:
    """The config's benchmarks first (by name, `NAME=SOURCE` -> NAME), then any others run."""
    order: list[str] = []
    for spec in config.evaluation.benchmarks:
        name = spec.split("=", 1)[0].strip() if "=" in spec and not spec.startswith("hf:") else spec
        if name not in order:
            order.append(name)
    for run in runs:
        if run["benchmark"] not in order:
            order.append(str(run["benchmark"]))
    present = {str(r["benchmark"]) for r in runs}
    return [b for b in order if b in present]


def _checkpoint_key(run: dict[str, Any]) -> tuple[Any, ...]:
    return (run["training_run_id"], run["checkpoint"], run["checkpoint_step"])


def _rows_for(
    label: str,
    role: str,
    baseline: bool,
    runs: list[dict[str, Any]],
    checkpoint: str,
    select_on: list[str],
    outcomes: dict[int, npt.NDArray[np.uint8]],
) -> list[Row]:
    """The rows of one arm: its last checkpoint, and its best one when asked and different."""
    if not runs:
        return []
    by_checkpoint: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for run in runs:  # oldest first: a later run of the same cell replaces an earlier one
        cells = by_checkpoint.setdefault(_checkpoint_key(run), {})
        earlier = cells.get(run["benchmark"])
        if earlier is None or run["status"] == "done" or earlier["status"] != "done":
            cells[str(run["benchmark"])] = run
    keys = list(by_checkpoint)
    # The last checkpoint: the highest step; a run without a step is the final model.
    last = max(keys, key=lambda k: (k[2] is None, k[2] or 0, keys.index(k)))
    several = len(keys) > 1
    chosen = [(last, "last" if several else "")]
    if checkpoint == "best" and several:
        best = _best(by_checkpoint, select_on, outcomes)
        if best is not None and best != last:
            names = "+".join(b for b in select_on if any(b in c for c in by_checkpoint.values()))
            chosen.append((best, f"best of {len(keys)} on {names}"))
    rows = []
    for key, selection in chosen:
        cells = by_checkpoint[key]
        first = next(iter(cells.values()))
        row = Row(
            arm=label,
            role=role,
            baseline=baseline,
            model=str(first["model"]),
            checkpoint=key[1],
            selection=selection,
        )
        for name, run in cells.items():
            flags = outcomes[int(run["id"])]
            n = int(run["n_items"])
            correct = int(flags.sum()) if len(flags) else int(run["n_correct"])
            row.cells[name] = Cell(name, int(run["id"]), n, correct, wilson(correct, n))
        rows.append(row)
    return rows


def _best(
    by_checkpoint: dict[tuple[Any, ...], dict[str, dict[str, Any]]],
    select_on: list[str],
    outcomes: dict[int, npt.NDArray[np.uint8]],
) -> tuple[Any, ...] | None:
    """The checkpoint with the best mean accuracy on the selection benchmarks it was run on."""
    scored = []
    for order, (key, cells) in enumerate(by_checkpoint.items()):
        accuracies = [
            float(outcomes[int(cells[b]["id"])].mean())
            for b in select_on
            if b in cells and len(outcomes[int(cells[b]["id"])])
        ]
        if accuracies:
            scored.append((sum(accuracies) / len(accuracies), key[2] or 0, order, key))
    return max(scored)[3] if scored else None


def _reference(rows: list[Row]) -> Row | None:
    """The baseline arm's (last-checkpoint) row, else the base student's, else none."""
    for row in rows:
        if row.baseline and row.selection in ("", "last"):
            return row
    return next((row for row in rows if row.role == "base"), None)


def _compare(
    row: Row,
    reference: Row | None,
    benchmarks: list[str],
    outcomes: dict[int, npt.NDArray[np.uint8]],
    digests: dict[int, str],
    resamples: int,
    seed: int,
) -> None:
    """Fill the row's deltas, p-values and average against the reference row.

    One random stream per row (seeded by the experiment seed and the row's label), drawn
    for all its benchmarks at once: the same table gives the same p-values every time.
    """
    mine = [b for b in benchmarks if b in row.cells]
    rng = np.random.default_rng(seed_for(row.label, *mine, base=seed))
    pairs: list[tuple[str, int, int, int]] = []  # benchmark, A only, B only, paired items
    for name in mine:
        cell = row.cells[name]
        other = reference.cells.get(name) if reference is not None else None
        if reference is None or row is reference or other is None:
            continue
        if digests[cell.run_id] != digests[other.run_id]:
            row.cells[name] = replace(cell, delta=cell.accuracy - other.accuracy)
            continue  # different items: a delta, but nothing to pair
        a, b = outcomes[cell.run_id], outcomes[other.run_id]
        size = min(len(a), len(b))
        pairs.append((name, *paired_counts(a[:size], b[:size])))
    delta_draws = np.zeros((0, resamples))
    if pairs:
        a_only, b_only, n = (np.array([p[i] for p in pairs]) for i in (1, 2, 3))
        delta_draws = paired_delta_draws(a_only, b_only, n, resamples, rng)
        observed = (a_only - b_only) / np.maximum(n, 1)
        for (name, *_), paired in zip(pairs, summarise_many(observed, delta_draws, n), strict=True):
            cell = row.cells[name]
            row.cells[name] = replace(cell, delta=paired.delta, p=paired.p, paired=paired.n)
    if len(mine) != len(benchmarks) or not benchmarks:
        return  # an average over other benchmarks than the table's would mislead
    cells = [row.cells[b] for b in mine]
    correct = np.array([c.correct for c in cells])
    n_items = np.array([c.n for c in cells])
    means = accuracy_draws(correct, n_items, resamples, rng).mean(axis=0)
    low, high = np.quantile(means, [0.025, 0.975])
    accuracy = sum(c.accuracy for c in cells) / len(cells)
    average = Average(accuracy, (float(low), float(high)))
    if len(pairs) == len(mine):
        mean_delta = sum(row.cells[b].delta or 0.0 for b in mine) / len(mine)
        summary = summarise(mean_delta, delta_draws.mean(axis=0), 1)
        average = replace(average, delta=mean_delta, p=summary.p)
    row.average = average


def benchmark_title(name: str) -> str:
    """A benchmark's one-line title from the registry (its name when it is not registered)."""
    found = BENCHMARKS.get(name)
    return found.title if found else name


def breakdowns(
    db: Database, table: ResultsTable, benchmark: str
) -> dict[str, dict[str, dict[str, Score]]]:
    """Per row label: the benchmark's subject / level / subset breakdowns of that row's run."""
    found = BENCHMARKS.get(benchmark)
    subset_label = found.layout.subset_label if found else "subset"
    out: dict[str, dict[str, dict[str, Score]]] = {}
    for row in table.rows:
        cell = row.cells.get(benchmark)
        if cell is not None:
            out[row.label] = benchmark_score(db, cell.run_id, subset_label).breakdowns
    return out
