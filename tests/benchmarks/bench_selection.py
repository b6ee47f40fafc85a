"""Kept/dropped counts per strategy as a Filters-screen threshold moves: SQL vs the numpy index.

Builds FLAMES_BENCH_SELECTION_ROWS problems (default 200k; the TUI target is 1M) with random
scores and three solutions each (some cut at the token limit, some with a reward), then times
one grouped SQL count against the `SignalIndex` re-count for a threshold moving in 0.01
steps (what `+`/`-` do), checks both keep the same problems, and times the index load.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from pipeline.selection import Policy, Selection, strategy_counts
from pipeline.selection.index import load_index
from storage.database import open_db

ROWS = int(os.environ.get("FLAMES_BENCH_SELECTION_ROWS", "200000"))
STRATEGIES = ["iqc", "suggester_editor", "paraphrase", "few_shot", "key_concepts", "fobar"]


def build(path: Path, rows: int) -> None:
    db = open_db(path)
    db["experiments"].insert({"name": "bench", "config_toml": "", "config_json": "{}"})
    rng = random.Random(0)
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO problems (id, experiment_id, strategy, text) VALUES (?, 1, ?, 'p')",
            ((i, STRATEGIES[i % len(STRATEGIES)]) for i in range(1, rows + 1)),
        )
        db.conn.executemany(
            "INSERT INTO scores (problem_id, n_solutions, majority_share, majority_answer, "
            "first_answer, first_is_majority, all_agree, reference_agrees, judge_score, "
            "dup_of_sim, decontam_overlap) VALUES (?, 3, ?, '1', '1', ?, ?, ?, ?, ?, ?)",
            (
                (
                    i,
                    rng.choice([1 / 3, 2 / 3, 1.0]),
                    rng.randint(0, 1),
                    rng.randint(0, 1),
                    rng.choice([None, 0, 1]),
                    rng.random(),
                    rng.random(),
                    rng.random() * 0.2,
                )
                for i in range(1, rows + 1)
            ),
        )
        db.conn.executemany(
            "INSERT INTO solutions (problem_id, model, sample_index, text, extracted_answer, "
            "verdict, finish_reason, reward) VALUES (?, 't', ?, 's', ?, ?, ?, ?)",
            (
                (
                    i,
                    k,
                    rng.choice(["1", "2", None]),
                    rng.choice(["correct", "incorrect"]),
                    "length" if rng.random() < 0.1 else "stop",
                    rng.random() if rng.random() < 0.8 else None,
                )
                for i in range(1, rows + 1)
                for k in range(3)
            ),
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        build(path, ROWS)
        print(
            f"built {ROWS} problems, {3 * ROWS} solutions in {time.perf_counter() - started:.1f}s"
        )
        db = open_db(path)
        started = time.perf_counter()
        index = load_index(db, 1)
        print(f"index load (one scan of problems, scores, solutions): "
              f"{time.perf_counter() - started:.2f} s")  # fmt: skip
        steps = [0.89, 0.88, 0.87, 0.86, 0.85]
        for policy in (Policy.MAJORITY, Policy.FIRST, Policy.JUDGE_REWARD):
            sql_s = index_s = 0.0
            for value in steps:
                selection = Selection(policy=policy, near_dup_max=value, judge_min=0.5)
                t0 = time.perf_counter()
                counted = index.counts(selection)
                t1 = time.perf_counter()
                full = strategy_counts(db, 1, selection)
                t2 = time.perf_counter()
                assert counted == full, (policy, value, counted, full)
                index_s += t1 - t0
                sql_s += t2 - t1
            n = len(steps)
            print(
                f"{policy.value:>13}: SQL {1000 * sql_s / n:.0f} ms, index {1000 * index_s / n:.1f} "
                f"ms per 0.01 step ({ROWS} rows) | ratio {sql_s / index_s:.0f}x | same counts: yes"
            )


if __name__ == "__main__":
    main()
