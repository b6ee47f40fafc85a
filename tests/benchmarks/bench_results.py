"""`flames results` on 20 arms x 12 benchmarks x 5,000 items from stored rows.

A workspace is filled with 240 finished eval runs (plus a base-student row) and their
1.2M eval_items rows. Timed, cold (a fresh connection): `results_table` with deltas, Wilson
intervals and paired bootstraps (the default 2,000 resamples, then 10,000) for every cell
and average, and rendering it in every format. Baseline in the same process: only reading every item row back and
counting correct answers per run, the least a table built from the items could do.
Goal: the table in < 0.5 s. FLAMES_BENCH_RESULTS_ITEMS sets the items per run (5,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.experiments.store import create_experiment
from pipeline.reports import FORMATS, render, results_table
from storage import evaluation as rows
from storage.database import open_db, transaction

ARMS = 20
BENCHMARKS = [
    "gsm8k", "math", "math500", "college_math", "olympiadbench", "gsmplus",
    "gsmplus_distraction", "minerva_math", "svamp", "asdiv", "mawps", "aime24",
]  # fmt: skip
ITEMS = int(os.environ.get("FLAMES_BENCH_RESULTS_ITEMS", "5000"))
GOAL_S = 0.5


def config_text() -> str:
    arms = "".join(
        f'\n[[arms]]\nname = "arm{i:02d}"\n' + ("baseline = true\n" if i == 0 else "")
        for i in range(ARMS)
    )
    names = ", ".join(f'"{b}"' for b in BENCHMARKS)
    return f'[experiment]\nname = "big"\n\n[evaluation]\nbenchmarks = [{names}]\n{arms}'


def fill(path: Path) -> None:
    db = open_db(path)
    config = path.parent / "big.toml"
    config.write_text(config_text(), encoding="utf-8")
    experiment = create_experiment(db, "big", config_path=config).experiment_id
    arm_ids = [int(r[0]) for r in db.execute("SELECT id FROM arms ORDER BY id").fetchall()]
    rng = np.random.default_rng(0)
    owners: list[int | None] = [None, *arm_ids]
    for owner in owners:
        skill = rng.uniform(0.2, 0.8)
        for bench in BENCHMARKS:
            flags = (rng.random(ITEMS) < skill).astype(int).tolist()
            run = rows.NewRun(
                run_key=f"{owner}/{bench}", experiment_id=experiment, arm_id=owner,
                role="base" if owner is None else "arm", model="m", backend="vllm",
                model_id="m", training_run_id=None, checkpoint=None, checkpoint_step=None,
                benchmark=bench, benchmark_source="bench", items_digest=bench,
                prompt_version="p", prompt_json="{}", params_json="{}", item_limit=None,
                n_items=ITEMS,
            )  # fmt: skip
            items = [
                (i, str(i), None, None, None, "q", "1", None, "o", "stop", 9, "1", "boxed",
                 "correct" if f else "incorrect", "r", f)
                for i, f in enumerate(flags)
            ]  # fmt: skip
            with transaction(db):
                run_id = rows.start_run(db, run)
                rows.store_items(db, run_id, items)
                rows.refresh_counts(db, run_id, seconds=1.0)
                rows.finish_run(db, run_id)
    db.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.db"
        started = time.perf_counter()
        fill(path)
        filled = time.perf_counter() - started
        size = path.stat().st_size / 1e6
        print(
            f"workspace: {ARMS} arms + base x {len(BENCHMARKS)} benchmarks x {ITEMS:,} items "
            f"({(ARMS + 1) * len(BENCHMARKS) * ITEMS:,} item rows, {size:,.0f} MB, filled in "
            f"{filled:.0f} s)"
        )
        db = open_db(path)
        started = time.perf_counter()
        counts = db.execute(
            "SELECT run_id, COUNT(*), SUM(correct) FROM eval_items GROUP BY run_id"
        ).fetchall()
        baseline = time.perf_counter() - started
        db.close()

        db = open_db(path)
        started = time.perf_counter()
        table = results_table(db, "big")
        built = time.perf_counter() - started
        started = time.perf_counter()
        texts = {fmt: render(table, fmt) for fmt in FORMATS}
        rendered = time.perf_counter() - started
        started = time.perf_counter()
        results_table(db, "big", resamples=10_000)
        finer = time.perf_counter() - started
        db.close()
    cells = sum(len(r.cells) for r in table.rows)
    assert len(table.rows) == ARMS + 1 and cells == len(counts)
    marked = sum(1 for r in table.rows for c in r.cells.values() if c.mark)
    print(
        f"baseline, reading every item row and counting per run: {baseline:.2f} s "
        f"({len(counts)} runs)"
    )
    print(
        f"results_table: {built:.3f} s for {len(table.rows)} rows x {len(table.benchmarks)} "
        f"benchmarks, {table.resamples:,} resamples per cell ({baseline / built:.0f}x faster "
        f"than the baseline; goal < {GOAL_S} s: {'met' if built < GOAL_S else 'NOT met'}); "
        f"{marked} cells marked significant"
    )
    print(f"the same with 10,000 resamples per cell: {finer:.3f} s")
    sizes = ", ".join(f"{fmt} {len(text) / 1000:.0f} kB" for fmt, text in texts.items())
    print(f"rendered in every format in {rendered:.3f} s ({sizes})")


if __name__ == "__main__":
    main()
