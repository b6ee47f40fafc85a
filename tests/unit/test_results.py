"""The results table on hand-made item rows: deltas, intervals, paired bootstrap, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

from pipeline.evaluation.stats import paired_bootstrap, wilson
from pipeline.experiments.store import create_experiment
from pipeline.reports import FORMATS, render, results_table
from storage import evaluation as rows
from storage.database import transaction

CONFIG = """
[experiment]
name = "table"
seed = 7

[evaluation]
benchmarks = ["gsm8k", "math500"]
resamples = 4000

[[arms]]
name = "first"
baseline = true

[[arms]]
name = "strict"

[[arms]]
name = "untrained"
"""


def experiment(db: Database, tmp_path: Path, config: str = CONFIG) -> tuple[int, dict[str, int]]:
    path = tmp_path / "exp.toml"
    path.write_text(config, encoding="utf-8")
    experiment_id = create_experiment(db, "table", config_path=path).experiment_id
    arms = {r[1]: int(r[0]) for r in db.execute("SELECT id, name FROM arms").fetchall()}
    return experiment_id, arms


def add_run(
    db: Database,
    experiment_id: int,
    arm_id: int | None,
    benchmark: str,
    flags: list[int],
    *,
    digest: str = "items-v1",
    checkpoint: str | None = None,
    step: int | None = None,
) -> int:
    """An eval run with one item per flag (1 correct, 0 wrong), finished."""
    role = "base" if arm_id is None else "arm"
    key = f"{experiment_id}/{arm_id}/{benchmark}/{checkpoint}/{digest}"
    new = rows.NewRun(
        run_key=key, experiment_id=experiment_id, arm_id=arm_id, role=role, model="m",
        backend="transformers", model_id="m", training_run_id=None, checkpoint=checkpoint,
        checkpoint_step=step, benchmark=benchmark, benchmark_source="test", items_digest=digest,
        prompt_version="p", prompt_json="{}", params_json="{}", item_limit=None,
        n_items=len(flags),
    )  # fmt: skip
    items = [
        (i, str(i), None, None, None, f"q{i}", "1", None, "out", "stop", 1, "1", "boxed",
         "correct" if f else "incorrect", "test", f)
        for i, f in enumerate(flags)
    ]  # fmt: skip
    with transaction(db):
        run_id = rows.start_run(db, new)
        rows.store_items(db, run_id, items)
        rows.refresh_counts(db, run_id, seconds=0.0)
        rows.finish_run(db, run_id)
    return run_id


def flags(correct: int, n: int, *, seed: int = 0) -> list[int]:
    out = [1] * correct + [0] * (n - correct)
    np.random.default_rng(seed).shuffle(out)
    return out


def naive_paired_p(a: list[int], b: list[int], resamples: int = 4000, seed: int = 1) -> float:
    """The textbook paired bootstrap: resample item indices, same indices for both arms."""
    x, y = np.asarray(a), np.asarray(b)
    index = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    deltas = x[index].mean(axis=1) - y[index].mean(axis=1)
    observed = x.mean() - y.mean()
    extreme = np.count_nonzero(np.abs(deltas - observed) >= abs(observed) - 1e-12)
    return float((extreme + 1) / (resamples + 1))


def test_wilson_interval() -> None:
    assert wilson(0, 0) == (0.0, 0.0)
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = wilson(10, 10)
    assert round(low, 4) == 0.7225 and high == pytest.approx(1.0)


def test_count_resampling_matches_index_resampling() -> None:
    a = flags(260, 400, seed=1)
    b = flags(230, 400, seed=2)
    ours = paired_bootstrap(np.array(a, np.uint8), np.array(b, np.uint8), resamples=4000, seed=3)
    assert ours.delta == pytest.approx(30 / 400)
    assert ours.p == pytest.approx(naive_paired_p(a, b), abs=0.02)
    same = paired_bootstrap(np.array(a, np.uint8), np.array(a, np.uint8), resamples=1000)
    assert (same.delta, same.p, same.mark) == (0.0, 1.0, "")
    far = paired_bootstrap(np.ones(300, np.uint8), np.array(flags(150, 300), np.uint8))
    assert far.mark == "**" and far.p < 0.001
    low, high = ours.ci95
    assert low < ours.delta < high


def test_deltas_bootstrap_and_reference(db: Database, tmp_path: Path) -> None:
    exp, arms = experiment(db, tmp_path)
    base_gsm = flags(100, 500, seed=1)
    first_gsm = flags(200, 500, seed=2)
    strict_gsm = first_gsm[:]  # strict = first, plus 40 items first got wrong
    wrong = [i for i, f in enumerate(strict_gsm) if not f][:40]
    for i in wrong:
        strict_gsm[i] = 1
    add_run(db, exp, None, "gsm8k", base_gsm)
    add_run(db, exp, None, "math500", flags(20, 100, seed=3))
    add_run(db, exp, arms["first"], "gsm8k", first_gsm)
    add_run(db, exp, arms["first"], "math500", flags(30, 100, seed=4))
    add_run(db, exp, arms["strict"], "gsm8k", strict_gsm)
    add_run(db, exp, arms["strict"], "math500", flags(30, 100, seed=4))  # the same items right
    table = results_table(db, "table")
    assert table.benchmarks == ["gsm8k", "math500"]
    assert [r.arm for r in table.rows] == ["base", "first", "strict"]  # untrained: no runs
    assert table.reference == "first"  # the baseline arm, not the base student
    base, first, strict = table.rows
    assert first.cells["gsm8k"].delta is None and first.cells["gsm8k"].p is None
    cell = strict.cells["gsm8k"]
    assert (cell.n, cell.correct, cell.paired) == (500, 240, 500)
    assert cell.delta == pytest.approx(40 / 500)
    assert cell.ci95 == wilson(240, 500)
    assert cell.mark == "**"  # 40 items gained, none lost: far beyond chance
    assert cell.p == pytest.approx(naive_paired_p(strict_gsm, first_gsm), abs=0.01)
    same = strict.cells["math500"]
    assert (same.delta, same.p, same.mark) == (0.0, 1.0, "")
    assert base.cells["gsm8k"].delta == pytest.approx(-100 / 500)
    # The average: mean accuracy over the benchmarks; its delta the mean of the deltas.
    assert strict.average is not None and first.average is not None
    assert strict.average.accuracy == pytest.approx((240 / 500 + 0.3) / 2)
    assert strict.average.delta == pytest.approx((40 / 500 + 0) / 2)
    assert first.average.delta is None
    low, high = strict.average.ci95
    assert low < strict.average.accuracy < high
    # The same table twice: the same resamples (seeded per cell).
    assert results_table(db, "table").as_json() == table.as_json()


def test_no_baseline_arm_compares_with_the_base_student(db: Database, tmp_path: Path) -> None:
    config = CONFIG.replace("baseline = true\n", "")
    exp, arms = experiment(db, tmp_path, config)
    add_run(db, exp, None, "gsm8k", flags(10, 50))
    add_run(db, exp, arms["strict"], "gsm8k", flags(20, 50))
    table = results_table(db, "table")
    assert table.reference == "base"
    assert table.rows[1].cells["gsm8k"].delta == pytest.approx(0.2)


def test_other_items_give_a_delta_but_no_pairing(db: Database, tmp_path: Path) -> None:
    exp, arms = experiment(db, tmp_path)
    add_run(db, exp, arms["first"], "gsm8k", flags(10, 50))
    add_run(db, exp, arms["strict"], "gsm8k", flags(20, 40), digest="another-file")
    strict = results_table(db, "table").rows[1]
    cell = strict.cells["gsm8k"]
    assert cell.delta == pytest.approx(0.5 - 0.2) and cell.p is None and cell.paired == 0


def test_checkpoints_last_and_best(db: Database, tmp_path: Path) -> None:
    exp, arms = experiment(db, tmp_path)
    arm = arms["strict"]
    for step, correct in ((100, 30), (200, 45), (300, 35)):
        for bench in ("gsm8k", "math500"):
            add_run(
                db, exp, arm, bench, flags(correct, 100, seed=step),
                checkpoint=f"checkpoint-{step}", step=step,
            )  # fmt: skip
    last = results_table(db, "table", checkpoint="last")
    assert [r.label for r in last.rows] == ["strict (last: checkpoint-300)"]
    assert last.rows[0].cells["gsm8k"].correct == 35
    best = results_table(db, "table", checkpoint="best")
    labels = [r.label for r in best.rows]
    assert labels == [
        "strict (last: checkpoint-300)",
        "strict (best of 3 on gsm8k+math500: checkpoint-200)",
    ]
    assert best.rows[1].cells["math500"].correct == 45


def test_every_format(db: Database, tmp_path: Path) -> None:
    exp, arms = experiment(db, tmp_path)
    add_run(db, exp, None, "gsm8k", flags(10, 50))
    add_run(db, exp, arms["first"], "gsm8k", flags(20, 50))
    add_run(db, exp, arms["strict"], "gsm8k", flags(30, 50))
    table = results_table(db, "table")
    data = json.loads(render(table, "json"))
    assert [r["arm"] for r in data["rows"]] == ["base", "first", "strict"]
    strict = data["rows"][2]["benchmarks"]["gsm8k"]
    assert strict["n"] == 50 and strict["accuracy"] == 0.6 and strict["delta"] == 0.2
    assert {"ci95", "p", "mark", "paired"} <= set(strict)
    text = render(table, "table")
    assert "strict" in text and "60.0 (+20.0" in text and "first [ref]" in text
    assert all(len(line) <= 100 for line in text.splitlines()[1:])
    markdown = render(table, "markdown")
    assert "| arm | gsm8k | average |" in markdown
    lines = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    assert [(r["arm"], r["benchmark"]) for r in lines][:2] == [
        ("base", "gsm8k"), ("base", "average"),
    ]  # fmt: skip
    assert float(lines[-2]["delta"]) == pytest.approx(0.2)
    latex = render(table, "latex")
    assert "\\begin{tabular}{lrr}" in latex and "\\toprule" in latex
    assert set(FORMATS) == {"table", "markdown", "csv", "latex", "json"}


def test_an_experiment_without_evals_says_so(db: Database, tmp_path: Path) -> None:
    experiment(db, tmp_path)
    table = results_table(db, "table")
    assert table.rows == [] and table.reference is None
    assert "no evaluations yet" in render(table, "table")
    assert json.loads(render(table, "json"))["rows"] == []
