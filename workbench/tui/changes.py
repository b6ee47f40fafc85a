"""Noticing that jobs (or anyone) wrote to the workspace, so screens refresh on their own.

SQLite's `data_version` changes when another connection commits; it is read on one
connection kept for that alone, from a worker thread, and costs no table read, so a screen
can ask every couple of seconds and reload only when there is something new.
"""

from __future__ import annotations

import threading

from sqlite_utils import Database

from storage.database import data_version, open_db


class WorkspaceChanges:
    """`changed()` is True when the workspace was written since the last call."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: Database | None = None
        self._seen: int | None = None
        self._lock = threading.Lock()

    def changed(self) -> bool:
        """Call from a worker thread; the first call only takes note."""
        with self._lock:
            if self._db is None:
                self._db = open_db(self.path, migrate=False)
            version = data_version(self._db)
            changed = self._seen is not None and version != self._seen
            self._seen = version
            return changed

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None
