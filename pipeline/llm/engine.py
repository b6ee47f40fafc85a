"""The resumable request engine: every model call in FLAMES goes through here.

Each request is keyed by a hash of (model id, prompt or messages, sampling params,
sample index). Keys already done in the `requests` table are answered from it;
the rest are sent to the backend in batches and each response is written the moment
it arrives, in its own small transaction. A SIGKILL at any point therefore loses at
most the requests in flight, and the same call again re-sends only those.

A request with `params.n > 1` is expanded into n requests with sample_index
0..n-1 (and n = 1), each its own cache row; `run` returns one Result per sample,
in input order, samples of one request consecutive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from pipeline.llm.backend import Backend, Completion, preferred_batch_size
from pipeline.llm.request import Request, Result, params_json
from storage.requests import NewRequest, Outcome, fetch_states, insert_pending, write_outcomes

PROGRESS_INTERVAL_S = 0.1


@dataclass
class Progress:
    """Where a run stands: `done` counts finished requests (cached and failed included)."""

    done: int
    total: int
    cached: int
    failed: int
    tokens_per_s: float
    eta_s: float | None


class Engine:
    """Runs requests through one backend with the `requests` table as a cache.

    Args:
        db: the workspace; the engine writes from the thread that calls `run`.
        backend: the model runner; its `model_id` is part of every key.
        max_attempts: finished tries (over all runs) after which a failed request is
            returned as failed without being sent again.
        batch_size: requests handed to the backend at once (default: the backend's own).
        on_progress: called with a Progress at the start, every ~0.1 s, and at the end.
    """

    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        max_attempts: int = 3,
        batch_size: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        self.max_attempts = max_attempts
        self.batch_size = batch_size or preferred_batch_size(backend)
        self.on_progress = on_progress

    def run(self, requests: Sequence[Request]) -> list[Result]:
        """One Result per sample of `requests`, in order; duplicates are sent once."""
        model = self.backend.model_id
        samples = [s for r in requests for s in r.samples()]
        keys = [s.key(model) for s in samples]
        unique: dict[str, Request] = {}
        for key, sample in zip(keys, samples, strict=True):
            unique.setdefault(key, sample)
        results: dict[str, Result] = {}
        todo: list[tuple[str, Request]] = []
        found = fetch_states(self.db, unique)
        for key, sample in unique.items():
            row = found.get(key)
            if row is not None and row.status == "done":
                results[key] = Result(
                    key, "done", row.response, None, True, row.finish_reason, sample.sample_index
                )
            elif row is not None and row.status == "failed" and row.attempts >= self.max_attempts:
                results[key] = Result(
                    key, "failed", None, row.error, True, None, sample.sample_index
                )
            else:
                todo.append((key, sample))
        tracker = _Tracker(len(unique), len(results), self.on_progress)
        tracker.failed = sum(1 for r in results.values() if r.status == "failed")
        tracker.emit(force=True)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            self._send(model, batch, results, tracker)
        tracker.emit(force=True)
        return [results[k] for k in keys]

    def _send(
        self,
        model: str,
        batch: list[tuple[str, Request]],
        results: dict[str, Result],
        tracker: _Tracker,
    ) -> None:
        rows = [
            NewRequest(key, model, params_json(r.params), r.sample_index, r.rendered())
            for key, r in batch
        ]
        insert_pending(self.db, rows)
        sent_at = time.monotonic()
        missing = "backend returned no result"
        try:
            for index, answer in self.backend.generate([r for _, r in batch]):
                row = rows[index]
                if row.key in results:
                    continue  # a backend answering one index twice must not double-count
                latency = time.monotonic() - sent_at
                if isinstance(answer, Completion):
                    self._store(row, answer, latency, results, tracker)
                else:
                    self._fail(row, _describe(answer), latency, results, tracker)
        except Exception as exc:  # a broken batch fails its unanswered rows, not the run
            missing = _describe(exc)
        for row in rows:
            if row.key not in results:
                self._fail(row, missing, None, results, tracker)

    def _store(
        self,
        row: NewRequest,
        answer: Completion,
        latency: float,
        results: dict[str, Result],
        tracker: _Tracker,
    ) -> None:
        self._write(
            row,
            response=answer.text,
            finish_reason=answer.finish_reason,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            latency_s=answer.latency_s if answer.latency_s is not None else latency,
        )
        results[row.key] = Result(
            row.key, "done", answer.text, None, False, answer.finish_reason, row.sample_index
        )
        tracker.finish(answer.completion_tokens or 0, failed=False)

    def _write(self, row: NewRequest, **finished: Any) -> None:
        """Record one finished try of `row` (a response or an error) in its own statement."""
        write_outcomes(
            self.db,
            [
                Outcome(
                    row.key, row.model, row.params_json, row.sample_index, row.prompt, **finished
                )
            ],
        )

    def _fail(
        self,
        row: NewRequest,
        error: str,
        latency: float | None,
        results: dict[str, Result],
        tracker: _Tracker,
    ) -> None:
        self._write(row, error=error, latency_s=latency)
        results[row.key] = Result(row.key, "failed", None, error, False, None, row.sample_index)
        tracker.finish(0, failed=True)


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class _Tracker:
    """Counts finished requests and turns them into throttled Progress events."""

    def __init__(
        self, total: int, cached: int, callback: Callable[[Progress], None] | None
    ) -> None:
        self.total = total
        self.cached = cached
        self.done = cached
        self.failed = 0
        self.tokens = 0
        self.callback = callback
        self.started = time.monotonic()
        self.last_emit = 0.0

    def finish(self, tokens: int, *, failed: bool) -> None:
        self.done += 1
        self.tokens += tokens
        if failed:
            self.failed += 1
        self.emit()

    def emit(self, *, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self.last_emit < PROGRESS_INTERVAL_S:
            return
        self.last_emit = now
        elapsed = max(now - self.started, 1e-9)
        sent = self.done - self.cached
        remaining = self.total - self.done
        eta = remaining * elapsed / sent if sent else None
        self.callback(
            Progress(
                self.done,
                self.total,
                self.cached,
                self.failed,
                self.tokens / elapsed,
                0.0 if remaining == 0 else eta,
            )
        )
