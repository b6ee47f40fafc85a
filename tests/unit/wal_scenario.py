"""A busy workspace: a big seed import, a generate-like engine run, a second writer (TUI
marks and settings) and a TUI-like reader, all at once on one file (issue 16, goal figure).

Every process runs with a short SQLite busy timeout, so lock contention shows within
seconds instead of after 30 s: anything that does not wait and retry on its own surfaces
"database is locked". Used by tests/unit/test_wal_concurrency.py (seconds) and
tests/benchmarks/bench_wal_concurrency.py (minutes).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.llm.backend import Completion
from pipeline.llm.request import Request

BUSY_TIMEOUT_MS = "100"


def write_seed_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for index in range(rows):
            handle.write(
                json.dumps(
                    {"question": f"How much is {index} + {index}?", "answer": str(2 * index)}
                )
                + "\n"
            )


class SlowBackend:
    """Answers every request after `delay_s`, like a model that takes its time."""

    def __init__(self, delay_s: float) -> None:
        self.model_id = "slow-double"
        self.batch_size = 32
        self.delay_s = delay_s

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        for index, request in enumerate(requests):
            time.sleep(self.delay_s)
            yield index, Completion(f"answer to {request.prompt}", "stop", 3, 2)

    def close(self) -> None:
        pass


def _importer(path: str, source: str, out: Any) -> None:
    from pipeline.seeds import import_seeds
    from storage.database import open_db

    started = time.monotonic()
    try:
        report = import_seeds(open_db(path), source, "big")
        out.put(("import", "ok", report.added, time.monotonic() - started))
    except Exception as exc:  # the figure counts every error that reaches the user
        out.put(("import", "error", repr(exc), time.monotonic() - started))


def _generator(path: str, requests: int, delay_s: float, out: Any) -> None:
    from pipeline.llm.engine import Engine
    from storage.database import open_db

    started = time.monotonic()
    try:
        engine = Engine(open_db(path), SlowBackend(delay_s), max_attempts=1)
        results = engine.run([Request(prompt=f"problem {i}") for i in range(requests)])
        failed = [r.error for r in results if r.status == "failed"]
        out.put(("generate", "ok", len(results) - len(failed), failed[:3], len(failed)))
    except Exception as exc:
        out.put(("generate", "error", repr(exc), time.monotonic() - started))


def _marker(path: str, seconds: float, out: Any) -> None:
    """A second writer: the TUI saving settings and marking problems, many small writes."""
    from storage.database import open_db, transaction
    from storage.settings import set_setting

    db = open_db(path, migrate=False)
    deadline = time.monotonic() + seconds
    writes = errors = 0
    while time.monotonic() < deadline:
        try:
            set_setting(db, f"key {writes % 7}", str(writes))
            with transaction(db):
                db.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES ('mark', ?)", [writes]
                )
            writes += 1
        except sqlite3.OperationalError as exc:
            errors += 1
            out.put(("marks", "error", repr(exc), 0.0))
        time.sleep(0.01)
    out.put(("marks", "ok", writes, errors))


@dataclass
class Figures:
    """What the scenario saw."""

    seconds: float = 0.0
    imported: int = 0
    requests_done: int = 0
    requests_failed: int = 0
    marks_written: int = 0
    reads: int = 0
    locked_errors: list[str] = field(default_factory=list)  # surfaced "database is locked"
    other_errors: list[str] = field(default_factory=list)


def run_scenario(
    folder: Path, *, import_rows: int, requests: int, delay_s: float, seconds: float
) -> Figures:
    """Run the import, the engine, the marker and the reader together; collect figures."""
    from storage.database import open_db

    os.environ["FLAMES_BUSY_TIMEOUT_MS"] = BUSY_TIMEOUT_MS  # children inherit it
    path = str(folder / "busy.db")
    open_db(path).conn.close()
    source = folder / "seeds.jsonl"
    write_seed_file(source, import_rows)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [
        context.Process(target=_importer, args=(path, str(source), out)),
        context.Process(target=_generator, args=(path, requests, delay_s, out)),
        context.Process(target=_marker, args=(path, seconds, out)),
    ]
    figures = Figures()
    stop = threading.Event()

    def reader() -> None:  # the TUI: counts and lists while everything writes
        db = open_db(path, migrate=False)
        while not stop.is_set():
            try:
                db.execute("SELECT COUNT(*) FROM requests WHERE status = 'done'").fetchone()
                db.execute("SELECT name, status FROM seed_sets").fetchall()
                db.execute("SELECT value FROM settings WHERE key = 'mark'").fetchone()
                figures.reads += 1
            except sqlite3.OperationalError as exc:
                figures.locked_errors.append(f"reader: {exc!r}")
            time.sleep(0.02)

    started = time.monotonic()
    thread = threading.Thread(target=reader)
    thread.start()
    for process in processes:
        process.start()
    for process in processes:
        process.join(seconds + 600)
    stop.set()
    thread.join()
    figures.seconds = time.monotonic() - started
    while not out.empty():
        who, status, value, extra, *rest = out.get()
        if status == "error":
            target = figures.locked_errors if "locked" in str(value) else figures.other_errors
            target.append(f"{who}: {value}")
        elif who == "import":
            figures.imported = int(value)
        elif who == "generate":
            figures.requests_done = int(value)
            figures.requests_failed = int(rest[0])
            figures.locked_errors += [f"request failed: {e}" for e in extra if "locked" in str(e)]
        elif who == "marks":
            figures.marks_written = int(value)
    for process in processes:
        if process.exitcode != 0:
            figures.other_errors.append(f"a process exited with {process.exitcode}")
    os.environ.pop("FLAMES_BUSY_TIMEOUT_MS", None)
    return figures
