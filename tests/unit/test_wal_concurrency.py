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
