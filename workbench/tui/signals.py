"""The app's one SignalIndex: loaded when the Filters screen first needs it, then shared.

Loading a million problems' signals takes a few seconds (one scan), so it happens once, on
first use, not at start-up where it would slow paging; later visits and every threshold
change reuse it until marks change or a job finishes.
"""

from __future__ import annotations

import threading
import time

from sqlite_utils import Database

from pipeline.selection.index import SignalIndex, fingerprint, load_index


class SignalCache:
    """The latest SignalIndex and what it was loaded from; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: SignalIndex | None = None
        self._key: tuple[object, ...] | None = None
        self.seconds = 0.0

    def ready(self, db: Database, experiment_id: int | None) -> bool:
        """Whether `get` would answer without a scan."""
        return self._index is not None and self._key == fingerprint(db, experiment_id)

    def get(self, db: Database, experiment_id: int | None) -> SignalIndex:
        """The index for the experiment, rescanned if marks changed or a job finished."""
        with self._lock:
            key = fingerprint(db, experiment_id)
            if self._index is None or self._key != key:
                started = time.perf_counter()
                self._index = load_index(db, experiment_id)
                self._key = key
                self.seconds = time.perf_counter() - started
            return self._index

    def invalidate(self) -> None:
        """Forget the index (the next `get` rescans)."""
        with self._lock:
            self._index = None
