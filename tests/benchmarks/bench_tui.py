"""TUI on a big workspace: time to first paint, paging, and Filters-screen queries.

    .venv/bin/python -m tests.benchmarks.bench_tui                # 200,000 problems
    .venv/bin/python -m tests.benchmarks.bench_tui --problems 1000000
    FLAMES_BENCH_PROBLEMS=1000000 make bench

The baseline is the same measurement on a 1,000-problem workspace in this process, so
the ratios say how much a big workspace costs compared to a tiny one (ideal: ~1x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storage.database import open_db
from tests.tui import sample

# The TUI tests' vocabulary and strategies, plus one more strategy for a wider table.
STRATEGIES = (*sample.STRATEGIES, "few_shot")
WORDS = sample.WORDS
BATCH = 50_000


def build(path: Path, n: int) -> float:
    """A workspace with `n` problems and scores, by batched executemany; seconds taken."""
    started = time.perf_counter()
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(
        "INSERT INTO experiments (id, name, config_toml, config_json) VALUES (1, 'bench', '', '{}')"
    )
    # Full-text index built once at the end, not row by row through the triggers.
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'problems'"
    ).fetchall()
    triggers = [sql for _, sql in found]
    for name, _ in found:
        conn.execute(f"DROP TRIGGER {name}")
    rng = random.Random(1)

    def problems(lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        for i in range(lo, hi):
            words = " ".join(rng.choice(WORDS) for _ in range(10))
            yield (
                i,
                STRATEGIES[i % len(STRATEGIES)],
                f"Problem {i}: {words}. What is {i}?",
                "rejected" if i % 31 == 0 else "ok",
            )

    def scores(lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        for i in range(lo, hi):
            agree = i % 3 != 0
            yield (
                i,
                3,
                "7",
                1.0 if agree else 0.67,
                "7",
                1,
                int(agree),
                rng.random(),
                rng.random(),
                rng.random() * 0.5,
            )

    for lo in range(1, n + 1, BATCH):
        hi = min(n + 1, lo + BATCH)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO problems (id, experiment_id, strategy, text, status) "
            "VALUES (?, 1, ?, ?, ?)",
            problems(lo, hi),
        )
        conn.executemany(
            "INSERT INTO scores (problem_id, n_solutions, majority_answer, majority_share, "
            "first_answer, first_is_majority, all_agree, judge_score, dup_of_sim, decontam_overlap) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            scores(lo, hi),
        )
        conn.execute("COMMIT")
    conn.execute("INSERT INTO problems_fts (problems_fts) VALUES ('rebuild')")
    for sql in triggers:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


async def drive(path: Path, pages: int) -> dict[str, float]:
    """First paint, paging down, jumping to the end, a search: seconds for each."""
    from workbench.tui.app import FlamesApp
    from workbench.tui.widgets.problem_table import ProblemTable

    out: dict[str, float] = {}
    started = time.perf_counter()
    app = FlamesApp(path, start="problems", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ProblemTable)

        async def until_loaded() -> None:
            while table.current is None or table.row_count == 0:
                await asyncio.sleep(0.002)

        await until_loaded()
        out["first paint"] = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(pages):
            table.action_page(1)
            await until_loaded()
            await pilot.pause()  # the repaint
        out[f"page down x{pages} (each)"] = (time.perf_counter() - started) / pages
        started = time.perf_counter()
        table.action_jump(-1)
        await until_loaded()
        await pilot.pause()
        out["jump to last row"] = time.perf_counter() - started
        out["rows held in memory"] = float(table.cached_rows)
        started = time.perf_counter()
        table.set_query(table.query_spec.with_(search="triangle prime"))
        await asyncio.sleep(0)
        await until_loaded()
        out["full-text search"] = time.perf_counter() - started
        started = time.perf_counter()
        table.set_query(table.query_spec.with_(search="", sort="judge_score", descending=True))
        await asyncio.sleep(0)
        await until_loaded()
        out["sort by judge score"] = time.perf_counter() - started
    return out


def filter_queries(path: Path) -> dict[str, float]:
    """What one threshold change on the Filters screen costs: snapshot vs plain SQL."""
    from pipeline.selection import (
        Selection,
        examples_near,
        score_histogram,
        strategy_counts,
    )
    from pipeline.selection.index import load_index

    db = open_db(path)
    out: dict[str, float] = {}
    started = time.perf_counter()
    index = load_index(db, 1)
    out["filters: load signal snapshot"] = time.perf_counter() - started
    for label, fn in (
        ("filters: counts (snapshot)", lambda: index.counts(Selection(near_dup_max=0.8))),
        ("filters: histogram (snapshot)", lambda: index.histogram("dup_of_sim", 40)),
        ("filters: examples near (SQL)", lambda: examples_near(db, 1, "dup_of_sim", 0.8, 2)),
        ("filters: counts (SQL)", lambda: strategy_counts(db, 1, Selection(near_dup_max=0.8))),
        ("filters: histogram (SQL)", lambda: score_histogram(db, 1, "dup_of_sim", 40)),
    ):
        fn()  # warm the page cache once, as the screen has by the time a user drags
        started = time.perf_counter()
        fn()
        out[label] = time.perf_counter() - started
    return out


def measure(n: int, pages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        figures = {"build workspace": build(path, n)}
        figures.update(asyncio.run(drive(path, pages)))
        figures.update(filter_queries(path))
        return figures


def main(n: int | None = None, pages: int = 30) -> None:
    n = n or int(os.environ.get("FLAMES_BENCH_PROBLEMS", "200000"))
    base = measure(1_000, pages)
    big = measure(n, pages)
    print(f"{'measure':<30} {'1,000 rows':>12} {f'{n:,} rows':>14} {'ratio':>7}")
    for key, value in big.items():
        ratio = value / base[key] if base[key] else float("nan")
        unit = "" if key == "rows held in memory" else " s"
        fmt = (lambda v: f"{v:,.0f}") if not unit else (lambda v: f"{v * 1000:,.1f} ms")
        print(f"{key:<30} {fmt(base[key]):>12} {fmt(value):>14} {ratio:>6.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=None)
    parser.add_argument("--pages", type=int, default=30)
    args = parser.parse_args()
    main(args.problems, args.pages)
