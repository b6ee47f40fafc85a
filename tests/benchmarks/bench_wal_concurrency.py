"""A busy workspace for minutes (issue 16's goal figure): a big seed import, a generate-like
engine run, a second writer (TUI settings and marks) and a TUI-like reader on one file.

Figures: "database is locked" errors that reached anyone (goal 0), requests failed by a
lock (goal 0), and the work each side got done. Every process runs with a 100 ms busy
timeout, so a writer that does not wait and retry on its own would fail within seconds.
The issue asks for 10 minutes with a 1M-row import:
`FLAMES_BENCH_WAL_S=600 FLAMES_BENCH_WAL_ROWS=1000000 make bench` (defaults: 120 s, 1M rows).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.unit.wal_scenario import run_scenario

SECONDS = float(os.environ.get("FLAMES_BENCH_WAL_S", "120"))
ROWS = int(os.environ.get("FLAMES_BENCH_WAL_ROWS", "1000000"))
DELAY_S = 0.004  # per generated answer: a model at ~250 answers/s


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_scenario(
            Path(tmp),
            import_rows=ROWS,
            requests=int(SECONDS / DELAY_S),
            delay_s=DELAY_S,
            seconds=SECONDS,
        )
    print(
        f"busy workspace for {figures.seconds:.0f} s: {figures.imported:,} seeds imported, "
        f"{figures.requests_done:,} requests done, {figures.marks_written:,} TUI writes, "
        f"{figures.reads:,} TUI reads"
    )
    print(
        f"'database is locked' surfaced: {len(figures.locked_errors)} (goal 0); requests "
        f"failed by locking: {figures.requests_failed} (goal 0); other errors: "
        f"{len(figures.other_errors)}"
    )
    for error in (figures.locked_errors + figures.other_errors)[:5]:
        print(f"  {error}")


if __name__ == "__main__":
    main()
