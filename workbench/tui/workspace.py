"""The TUI's handle on the workspace file: a small pool of connections for worker threads.

SQLite connections are used by one thread at a time; workers borrow one and give it back,
so no query ever runs on the UI thread and no connection is shared between threads at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from storage.database import open_db


class Workspace:
    """A workspace path and a pool of connections to it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._pool: queue.SimpleQueue[Database] = queue.SimpleQueue()
        self._busy: set[Database] = set()
        self._lock = threading.Lock()

    @contextmanager
    def db(self) -> Iterator[Database]:
        """Borrow a connection for the current thread."""
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = open_db(self.path, migrate=False)
        with self._lock:
            self._busy.add(db)
        try:
            yield db
        finally:
            with self._lock:
                self._busy.discard(db)
            self._pool.put(db)

    def interrupt(self) -> None:
        """Abort every query in flight (on quit: a long scan must not hold the exit)."""
        with self._lock:
            for db in self._busy:
                db.conn.interrupt()

    def close(self) -> None:
        """Close every pooled connection."""
        while True:
            try:
                self._pool.get_nowait().conn.close()
            except queue.Empty:
                return
