"""Kept/dropped counts per strategy as a Filters-screen slider moves: full query vs band update.

Builds FLAMES_BENCH_SELECTION_ROWS problems (default 200k; the TUI target is 1M) with random
scores, then times the full grouped query against `LiveCounts` moving one threshold by a
small step (what a slider does), and checks both give the same counts.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from pipeline.selection.counts import LiveCounts, kept_dropped, make_selection
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
            "INSERT INTO scores (problem_id, n_solutions, majority_share, first_answer, "
            "first_is_majority, all_agree, reference_agrees, judge_score, dup_of_sim, "
            "decontam_overlap) VALUES (?, 3, ?, '1', ?, ?, ?, ?, ?, ?)",
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        build(path, ROWS)
        print(f"built {ROWS} problems with scores in {time.perf_counter() - started:.1f}s")
        db = open_db(path)
        live = LiveCounts(db, "bench")
        live.counts(make_selection("majority", max_nn_sim=0.90, judge_min=0.5))
        full_s = band_s = 0.0
        steps = [0.89, 0.88, 0.87, 0.86, 0.85]
        for value in steps:
            selection = make_selection("majority", max_nn_sim=value, judge_min=0.5)
            t0 = time.perf_counter()
            moved = live.counts(selection)
            t1 = time.perf_counter()
            full = kept_dropped(db, "bench", selection)
            t2 = time.perf_counter()
            assert moved == full, (value, moved, full)
            band_s += t1 - t0
            full_s += t2 - t1
        n = len(steps)
        print(f"full grouped query: {1000 * full_s / n:.0f} ms per slider step ({ROWS} rows)")
        print(
            f"LiveCounts band update: {1000 * band_s / n:.0f} ms per 0.01 step "
            f"| ratio {full_s / band_s:.1f}x | same counts: yes"
        )


if __name__ == "__main__":
    main()
