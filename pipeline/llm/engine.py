"""The resumable request engine: every model call in FLAMES goes through here.

Each request is keyed by a hash of (model id, prompt or messages, sampling params,
sample index). Keys already done in the `requests` table are answered from it;
the rest are sent to the backend in batches and each response is written the moment
it arrives, in its own small transaction. A SIGKILL at any point therefore loses at
most the requests in flight, and the same call again re-sends only those.

A request with `params.n > 1` is expanded into n requests with sample_index
0..n-1 (and n = 1), each its own cache row; `run` returns one Result per sample,
in input order, samples of one request consecutive.

Failures are never final across runs: within one run a failed request is tried up to
`max_attempts` times (later rounds resend only the failures), and the next run tries
every failed request again (unless `retry_failed` is off). A locked workspace is a
wait, never a failure: writes retry (see `storage.database`), and a write that still
cannot land stops the run with the request left pending, so nothing is lost or counted
as failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.llm.backend import Backend, Completion, preferred_batch_size
from pipeline.llm.request import Request, Result, params_json
from pipeline.progress import ProgressEvent, Reporter, ignore
from storage.requests import NewRequest, Outcome, fetch_states, insert_pending, write_outcomes

PROGRESS_INTERVAL_S = 0.1
DEFAULT_MAX_RESPONSE_BYTES = 1_000_000
# A reply stored cut at the byte cap is truncated like one cut at the token limit, so it
# reads as "length" everywhere (parsers, selection); `cut_reason` on its row says which.
CUT = "length"


@dataclass
class EngineStats:
    """What the engine's runs did so far (summed over `run` calls)."""

    requests: int = 0  # distinct keys asked for
    cached: int = 0  # answered from the table without sending
    sent: int = 0  # sends to the backend (a retry counts again)
    failed: int = 0  # keys still failed at the end of their run (given up for now)
    skipped_failed: int = 0  # failed before, not resent because retry_failed is off
    cut: int = 0  # replies stored cut at the byte cap


class Engine:
    """Runs requests through one backend with the `requests` table as a cache.

    Args:
        db: the workspace; the engine writes from the thread that calls `run`.
        backend: the model runner; its `model_id` is part of every key.
        max_attempts: tries per request within one run; a request still failing after
            them is returned failed (and tried again by the next run).
        retry_failed: send requests that failed in an earlier run again (the default);
            off, they are returned failed without sending.
        batch_size: requests handed to the backend at once (default: the backend's own).
        progress: gets an event at the start, every ~0.1 s, and at the end.
        stage: the stage name of those events.
        max_response_bytes: longer replies are stored cut, with the reason (default: the
            backend's `max_response_bytes` when it has one, else 1 MB).
    """

    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        max_attempts: int = 3,
        retry_failed: bool = True,
        batch_size: int | None = None,
        progress: Reporter = ignore,
        stage: str = "requests",
        max_response_bytes: int | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        self.max_attempts = max(1, max_attempts)
        self.retry_failed = retry_failed
        self.batch_size = batch_size or preferred_batch_size(backend)
        self.progress = progress
        self.stage = stage
        # Backends that cap their own reads (openai) say where; the engine enforces it for all.
        cap = max_response_bytes or getattr(backend, "max_response_bytes", None)
        self.max_response_bytes = int(cap or DEFAULT_MAX_RESPONSE_BYTES)
        self.stats = EngineStats()

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
                    key=key,
                    status="done",
                    text=row.response,
                    error=None,
                    cached=True,
                    finish_reason=row.finish_reason,
                    sample_index=sample.sample_index,
                )
            elif row is not None and row.status == "failed" and not self.retry_failed:
                results[key] = Result(
                    key=key,
                    status="failed",
                    text=None,
                    error=row.error,
                    cached=True,
                    sample_index=sample.sample_index,
                )
                self.stats.skipped_failed += 1
            else:
                todo.append((key, sample))
        self.stats.requests += len(unique)
        self.stats.cached += len(results)
        skipped = sum(1 for r in results.values() if r.status == "failed")
        tracker = _Tracker(self, len(unique), len(results), skipped)
        tracker.emit(force=True)
        for attempt in range(1, self.max_attempts + 1):
            if not todo:
                break
            tracker.round = attempt
            for start in range(0, len(todo), self.batch_size):
                self._send(model, todo[start : start + self.batch_size], results, tracker)
            todo = [(k, r) for k, r in todo if results[k].status == "failed"]
            if attempt < self.max_attempts and todo:
                tracker.retrying(len(todo))
        self.stats.failed += len(todo)
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
        for row in rows:
            results.pop(row.key, None)  # a retry: the earlier failure is not this round's answer
        self.stats.sent += len(rows)
        sent_at = time.monotonic()
        missing = "backend returned no result"
        answers = self.backend.generate([r for _, r in batch])
        try:
            for index, answer in _until_error(answers):
                if isinstance(answer, _BackendBroke):
                    missing = answer.reason  # a broken batch fails its unanswered rows
                    break
                row = rows[index]
                if row.key in results:
                    continue  # a backend answering one index twice must not double-count
                latency = time.monotonic() - sent_at
                # Storage errors propagate from here: they stop the run, they never fail rows.
                if isinstance(answer, Completion):
                    self._store(row, answer, latency, results, tracker)
                else:
                    self._fail(row, _describe(answer), latency, results, tracker)
        finally:
            close = getattr(answers, "close", None)
            if close is not None:
                close()
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
        text, cut_reason = _capped(answer.text, self.max_response_bytes, answer.cut_reason)
        finish_reason = CUT if cut_reason else answer.finish_reason
        if cut_reason:
            self.stats.cut += 1
        self._write(
            row,
            response=text,
            finish_reason=finish_reason,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            latency_s=answer.latency_s if answer.latency_s is not None else latency,
            cut_reason=cut_reason,
        )
        results[row.key] = Result(
            key=row.key,
            status="done",
            text=text,
            error=None,
            cached=False,
            finish_reason=finish_reason,
            sample_index=row.sample_index,
        )
        tracker.finish(row.key, answer.completion_tokens or 0, failed=False)

    def _write(
        self,
        row: NewRequest,
        *,
        response: str | None = None,
        error: str | None = None,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        latency_s: float | None = None,
        cut_reason: str | None = None,
    ) -> None:
        """Record one finished try of `row` (a response or an error) in its own statement."""
        write_outcomes(
            self.db,
            [
                Outcome(
                    key=row.key,
                    model=row.model,
                    params_json=row.params_json,
                    sample_index=row.sample_index,
                    prompt=row.prompt,
                    response=response,
                    error=error,
                    finish_reason=finish_reason,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    latency_s=latency_s,
                    cut_reason=cut_reason,
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
        results[row.key] = Result(
            key=row.key,
            status="failed",
            text=None,
            error=error,
            cached=False,
            sample_index=row.sample_index,
        )
        tracker.finish(row.key, 0, failed=True)


@dataclass(frozen=True)
class _BackendBroke:
    reason: str


def _until_error(
    answers: Iterator[tuple[int, Completion | Exception]],
) -> Iterator[tuple[int, Completion | Exception | _BackendBroke]]:
    """The backend's answers; an exception raised by the backend itself ends them, as a value.

    Only errors raised while the backend produces the next answer are caught: what the
    caller does with an answer (storing it) runs outside this try.
    """
    while True:
        try:
            item = next(answers)
        except StopIteration:
            return
        except Exception as exc:
            yield -1, _BackendBroke(_describe(exc))
            return
        yield item


def _capped(text: str, cap: int, reason: str | None) -> tuple[str, str | None]:
    """`text` cut to at most `cap` UTF-8 bytes, and why (None when nothing was cut)."""
    if len(text) * 4 <= cap and reason is None:
        return text, None  # cheap: even all 4-byte characters would fit
    data = text.encode("utf-8")
    if len(data) > cap:
        text = data[:cap].decode("utf-8", errors="ignore")
        reason = reason or f"reply of {len(data):,} bytes cut at max_response_bytes = {cap:,}"
    return text, reason


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class _Tracker:
    """Counts finished requests and turns them into throttled progress events."""

    def __init__(self, engine: Engine, total: int, cached: int, skipped: int) -> None:
        self.engine = engine
        self.total = total
        self.cached = cached
        self.skipped = skipped  # failed before and not resent: failed from the start
        self.finished: set[str] = set()
        self.failed = skipped
        self.failed_keys: set[str] = set()
        self.tokens = 0
        self.round = 1
        self.started = time.monotonic()
        self.last_emit = 0.0

    @property
    def done(self) -> int:
        return self.cached + len(self.finished)

    def finish(self, key: str, tokens: int, *, failed: bool) -> None:
        self.finished.add(key)
        self.tokens += tokens
        if failed:
            self.failed_keys.add(key)
        else:
            self.failed_keys.discard(key)
        self.failed = self.skipped + len(self.failed_keys)
        self.emit()

    def retrying(self, count: int) -> None:
        """The next round resends `count` failures: they are not done any more."""
        for key in list(self.failed_keys):
            self.finished.discard(key)
        self.emit(force=True, note=f"retrying {count} failed")

    def emit(self, *, force: bool = False, note: str = "") -> None:
        now = time.monotonic()
        if not force and now - self.last_emit < PROGRESS_INTERVAL_S:
            return
        self.last_emit = now
        elapsed = max(now - self.started, 1e-9)
        sent = self.done - self.cached
        remaining = self.total - self.done
        eta = remaining * elapsed / sent if sent else None
        detail = f"cached {self.cached}  failed {self.failed}  {self.tokens / elapsed:,.1f} tok/s"
        if remaining and eta is not None:
            detail += f"  eta {eta:,.0f}s"
        if self.round > 1:
            detail += f"  try {self.round}/{self.engine.max_attempts}"
        if note:
            detail += f"  {note}"
        self.engine.progress(
            ProgressEvent(self.engine.stage, self.done, self.total, detail, self.failed)
        )
