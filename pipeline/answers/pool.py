"""A bounded process pool for symbolic checks: a per-task timeout that kills and replaces the worker.

`concurrent.futures` cannot stop one running task, and math-verify's SIGALRM timeout only
works on the main thread, so each worker is our own process fed one task at a time over a
pipe. A task past its deadline, a worker that dies (segfault, out of memory) or a task that
raises all yield "unverifiable" for that task only; the pool carries on with a fresh worker.
Workers fork from a forkserver that has math-verify imported, so a replacement is cheap.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

Result = tuple[bool | None, str]
# One symbolic check: extracted gold and pred, and the raw texts where the caller wants
# math-verify's own extraction (None: compare the extracted answers only).
Task = tuple[str, str, str | None, str | None]

DEFAULT_TIMEOUT_S = 5.0
# A worker's start (imports, grammar warm-up) is not charged to its first task.
STARTUP_TIMEOUT_S = 120.0
READY = "ready"
OWNER_POLL_S = 1.0
# Address-space cap per worker: a power tower or a huge matrix fails with MemoryError, not OOM.
WORKER_MEMORY_BYTES = 4 * 1024**3


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def _alive(pid: int) -> bool:
    """Whether `pid` runs; on Linux a zombie (dead, not yet reaped) counts as gone."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                return handle.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _watch_owner(owner_pid: int) -> None:
    """Exit when the process that started this worker is gone, even mid-computation.

    Forkserver children keep the forkserver alive, so parent-death signals never fire;
    a daemon thread polling the owner's pid does the job (sympy releases the GIL often).
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(OWNER_POLL_S)
            if not _alive(owner_pid):
                os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def _serve(conn: Connection, memory_bytes: int, owner_pid: int) -> None:
    """Worker loop: receive (index, gold, pred, gold_raw, pred_raw), answer (index, (equal,
    reason)) until None."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    _watch_owner(owner_pid)
    from pipeline.answers.symbolic import symbolic_compare, warm_up

    warm_up()
    conn.send(READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        index, gold, pred, gold_raw, pred_raw = task
        try:
            result: Result = symbolic_compare(gold, pred, gold_raw, pred_raw)
        except MemoryError:
            result = (None, "out_of_memory")
        except RecursionError:
            result = (None, "too_deep")
        except BaseException as exc:  # noqa: BLE001 - any failure of one task is "unverifiable"
            result = (None, f"error:{type(exc).__name__}")
        try:
            conn.send((index, result))
        except (OSError, ValueError):
            return


_context: multiprocessing.context.BaseContext | None = None


def _get_context() -> multiprocessing.context.BaseContext:
    """A forkserver context with math-verify preloaded (spawn where forkserver is missing)."""
    global _context
    if _context is None:
        try:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["pipeline.answers.symbolic", "math_verify"])
            _context = ctx
        except ValueError:
            _context = multiprocessing.get_context("spawn")
    return _context


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: int | None = None
    deadline: float = field(default=0.0)
    last_gold: str | None = None


class _Queue:
    """Pending task indices; a worker is offered tasks sharing its last gold first (its parse cache)."""

    def __init__(self, pairs: Sequence[Task]) -> None:
        self.order = deque(range(len(pairs)))
        self.by_gold: dict[str, deque[int]] = {}
        for index, (gold, *_) in enumerate(pairs):
            self.by_gold.setdefault(gold, deque()).append(index)
        self.taken = [False] * len(pairs)
        self.left = len(pairs)

    def take(self, last_gold: str | None) -> int | None:
        same = self.by_gold.get(last_gold) if last_gold is not None else None
        for queue in (same, self.order):
            while queue:
                index = queue.popleft()
                if not self.taken[index]:
                    self.taken[index] = True
                    self.left -= 1
                    return index
        return None

    def give_back(self, index: int) -> None:
        self.taken[index] = False
        self.left += 1
        self.order.appendleft(index)


class SymbolicPool:
    """Own worker processes running `symbolic_compare` under a hard per-task timeout."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_bytes: int = WORKER_MEMORY_BYTES,
    ) -> None:
        self.size = max(1, workers or usable_cores())
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self._workers: list[_Worker] = []
        self.replaced = 0

    def _start_worker(self) -> _Worker:
        ctx = _get_context()
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child, self.memory_bytes, os.getpid()), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _await_ready(self, workers: list[_Worker]) -> None:
        for worker in workers:
            try:
                ready = worker.conn.poll(STARTUP_TIMEOUT_S) and worker.conn.recv() == READY
            except (EOFError, OSError):
                ready = False
            if not ready:
                self._kill(worker)
                raise RuntimeError(
                    "a symbolic-check worker failed to start (a script that grades answers "
                    "needs the `if __name__ == '__main__':` guard, as multiprocessing requires)"
                )

    def _kill(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()

    def _replace(self, worker: _Worker) -> _Worker:
        self._kill(worker)
        self.replaced += 1
        fresh = self._start_worker()
        self._await_ready([fresh])
        slot = next(i for i, w in enumerate(self._workers) if w is worker)
        self._workers[slot] = fresh
        return fresh

    def map(
        self,
        pairs: Sequence[tuple[str, str]] | Sequence[Task],
        progress: Callable[[int], None] | None = None,
    ) -> list[Result]:
        """(equal, reason) per (gold, pred) pair or `Task`, in order; never raises for one
        bad pair."""
        tasks: list[Task] = [(t[0], t[1], None, None) if len(t) == 2 else t for t in pairs]
        results: list[Result | None] = [None] * len(tasks)
        if not tasks:
            return []
        started = [
            self._start_worker() for _ in range(min(self.size, len(tasks)) - len(self._workers))
        ]
        self._await_ready(started)
        self._workers.extend(started)
        pending = _Queue(tasks)
        busy: dict[Connection, _Worker] = {}

        def finish(worker: _Worker, result: Result) -> None:
            assert worker.task is not None
            results[worker.task] = result
            busy.pop(worker.conn, None)
            worker.task = None
            if progress is not None:
                progress(1)

        while pending.left or busy:
            for worker in list(self._workers):
                if worker.task is None and pending.left:
                    index = pending.take(worker.last_gold)
                    if index is None:
                        break
                    try:
                        worker.conn.send((index, *tasks[index]))
                    except (OSError, ValueError):
                        pending.give_back(index)
                        self._replace(worker)
                        continue
                    worker.last_gold = tasks[index][0]
                    worker.task, worker.deadline = index, time.monotonic() + self.timeout_s
                    busy[worker.conn] = worker
            if not busy:
                continue
            wait_s = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            for ready in wait(list(busy), timeout=wait_s):
                assert isinstance(ready, Connection)
                worker = busy[ready]
                try:
                    index, result = ready.recv()
                except (EOFError, OSError):
                    finish(worker, (None, "worker_crashed"))
                    self._replace(worker)
                    continue
                if index == worker.task:
                    finish(worker, result)
            now = time.monotonic()
            for worker in list(busy.values()):
                if now >= worker.deadline:
                    finish(worker, (None, "timeout"))
                    self._replace(worker)
        return [r if r is not None else (None, "lost") for r in results]

    def close(self) -> None:
        """Stop every worker (politely, then by force)."""
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=1)
            self._kill(worker)
        self._workers = []

    def __enter__(self) -> SymbolicPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
