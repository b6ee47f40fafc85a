"""One writer process and a reader thread for 10 s: readers never blocked, never 'locked'."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

from storage.database import open_db
from storage.seeds import ensure_seed_set, insert_seeds

DURATION_S = 10.0


def _writer(path: str, seconds: float, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = open_db(path)
    deadline = time.monotonic() + seconds
    batch = 0
    try:
        while time.monotonic() < deadline:
            with db.atomic():
                insert_seeds(
                    db,
                    [
                        (1, batch * 100 + i, f"Q{batch}-{i}?", str(i), None, "{}", f"{batch}-{i}")
                        for i in range(100)
                    ],
                )
            batch += 1
    except sqlite3.OperationalError as exc:
        errors.put(repr(exc))
    errors.put(f"done {batch}")


def test_writer_process_and_reader_thread(tmp_path: Path) -> None:
    path = str(tmp_path / "wal.db")
    db = open_db(path)
    ensure_seed_set(db, "live", "test", "question", "answer")
    db.close()

    errors: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
    writer = multiprocessing.get_context("spawn").Process(
        target=_writer, args=(path, DURATION_S, errors)
    )
    reads: list[int] = []
    read_errors: list[str] = []

    def reader() -> None:
        conn = open_db(path, migrate=False)
        deadline = time.monotonic() + DURATION_S
        while time.monotonic() < deadline:
            try:
                reads.append(conn.execute("SELECT COUNT(*) FROM seeds").fetchone()[0])
            except sqlite3.OperationalError as exc:
                read_errors.append(repr(exc))
            time.sleep(0.005)

    writer.start()
    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(DURATION_S + 30)
    writer.join(DURATION_S + 30)
    messages = []
    while not errors.empty():
        messages.append(errors.get())
    assert writer.exitcode == 0
    assert not read_errors, read_errors[:3]
    assert [m for m in messages if not m.startswith("done")] == []
    assert len(reads) > 100 and reads == sorted(reads)  # readers saw the writer's progress
    assert reads[-1] > 0


def test_a_busy_workspace_never_surfaces_a_lock(tmp_path: Path) -> None:
    """Goal figure, scaled down: a big import, a generate-like run, a second writer and a
    reader at once, with a 100 ms busy timeout: 0 "database is locked" errors reach anyone
    and 0 requests fail because of a lock. (10 minutes of it: tests/benchmarks.)"""
    from tests.unit.wal_scenario import run_scenario

    figures = run_scenario(tmp_path, import_rows=60_000, requests=1_500, delay_s=0.002, seconds=6.0)
    assert figures.locked_errors == [] and figures.other_errors == []
    assert figures.imported == 60_000
    assert (figures.requests_done, figures.requests_failed) == (1_500, 0)
    assert figures.marks_written > 50 and figures.reads > 50
