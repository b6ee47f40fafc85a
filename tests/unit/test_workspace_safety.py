"""Opening and writing a workspace safely (issue 16 items 2 and 7; issue 10's fast --help)."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from storage.database import StorageError, open_db, transaction
from storage.migrations import MIGRATION_NAMES
from storage.requests import count_by_status
from tests.unit.llm_doubles import ScriptedBackend

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_workspace_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = open_db(path)
    with transaction(db):
        db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('flames', '0099_from_the_future', 'later')"
        )
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    before = digest(path)
    with pytest.raises(StorageError) as raised:
        open_db(path)
    message = str(raised.value)
    assert "newer FLAMES release" in message and "0099_from_the_future" in message
    assert MIGRATION_NAMES[-1] in message
    assert digest(path) == before


def test_a_non_workspace_sqlite_file_gets_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="not a FLAMES workspace .*invoices"):
        open_db(path)
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["invoices"]


def test_an_empty_file_becomes_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    db = open_db(path)
    assert "jobs" in db.table_names()


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> threading.Thread:
    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_transaction_waits_out_a_long_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAMES_BUSY_TIMEOUT_MS", "50")
    path = tmp_path / "w.db"
    db = open_db(path)
    taken = threading.Event()
    holder = hold_write_lock(path, 0.8, taken)
    taken.wait(5)
    with transaction(db):  # the lock is held 16 busy timeouts long: waited out, not raised
        db.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")
    holder.join()
    assert db.execute("SELECT value FROM settings").fetchone()[0] == "v"


def test_a_locked_write_in_the_engine_never_fails_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAMES_BUSY_TIMEOUT_MS", "50")
    path = tmp_path / "w.db"
    db = open_db(path)
    taken = threading.Event()
    holder = hold_write_lock(path, 0.8, taken)
    taken.wait(5)
    results = Engine(db, ScriptedBackend(), max_attempts=1).run(
        [Request(prompt=f"p{i}") for i in range(20)]
    )
    holder.join()
    assert all(r.status == "done" for r in results)
    assert count_by_status(db) == {"pending": 0, "done": 20, "failed": 0}


def test_help_imports_no_heavy_library() -> None:
    """`flames --help` must stay fast: pandas (through sqlite-utils), torch and friends stay out."""
    code = (
        "import sys\n"
        "from workbench.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('pandas', 'torch', 'transformers', 'numpy', 'sqlite_utils', 'textual')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "Commands:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
