"""A run's output folder: its checkpoints, whether it finished, and who is training into it.

The Trainer writes `checkpoint-N/trainer_state.json` last when it saves, so a checkpoint
without one was cut off by a kill and is skipped; the run resumes from the one before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import FlamesError
from pipeline.llm.models import MODEL_FILE, PLAN_FILE, read_model_record

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
OWNER_LOCK = ".flames-train.lock"  # held by the launching process for the whole run
WORKER_LOCK = ".flames-worker.lock"  # held by the training worker while it runs
WORKER_EXIT_WAIT_S = 30.0


@dataclass(frozen=True)
class Checkpoint:
    step: int
    path: Path


def checkpoints(out: Path) -> list[Checkpoint]:
    """Complete checkpoints in `out`, oldest first."""
    found: list[Checkpoint] = []
    if not out.is_dir():
        return found
    for child in out.iterdir():
        match = CHECKPOINT.match(child.name)
        if match and (child / "trainer_state.json").is_file():
            found.append(Checkpoint(int(match.group(1)), child))
    return sorted(found, key=lambda c: c.step)


def newest_checkpoint(out: Path) -> Checkpoint | None:
    """The checkpoint a rerun resumes from, or None."""
    found = checkpoints(out)
    return found[-1] if found else None


def finished_record(out: Path) -> dict[str, Any] | None:
    """`flames-model.json` when the run in `out` finished (the worker writes it last)."""
    return read_model_record(out) if (out / MODEL_FILE).is_file() else None


def plan_path(out: Path) -> Path:
    return out / PLAN_FILE


@contextlib.contextmanager
def owner_lock(out: Path) -> Iterator[None]:
    """Hold the folder for this process; another `flames train` into it fails in one line.

    An flock dies with its process, so a killed run never leaves the folder locked.
    """
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / OWNER_LOCK, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FlamesError(
                f"{out} is being trained by another process right now; wait for it, or cancel "
                "its job (flames jobs cancel ID), then run this command again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def wait_for_old_worker(out: Path, timeout_s: float = WORKER_EXIT_WAIT_S) -> None:
    """Wait until no worker from an earlier (killed) run still holds the folder.

    Such a worker notices its launcher is gone within seconds and exits.
    """
    lock = out / WORKER_LOCK
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout_s
    with open(lock, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FlamesError(
                        f"a training worker from an earlier run still writes into {out}; "
                        "stop it (see the pid in "
                        f"{lock}) and run this command again"
                    ) from None
                time.sleep(0.5)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return


def hold_worker_lock(out: Path) -> Any:
    """Taken by the worker for its lifetime (the handle must stay referenced)."""
    handle = open(out / WORKER_LOCK, "a+")  # noqa: SIM115 - kept open until the process exits
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
