"""Trainer callbacks of the worker: metrics into the database, K checkpoints, progress events.

Imported only by the worker process (it needs transformers). On a distributed run only the
main process writes rows and events; every process takes part in saving.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from pipeline.llm.models import MODEL_FILE
from pipeline.training import events
from pipeline.training.mapping import checkpoint_steps
from storage import training as rows
from storage.database import open_db

# Logged once at the end by the Trainer (not a per-step curve), kept under their own names.
SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss")


class RunRecorder(TrainerCallback):
    """Streams each logging step's metrics into `training_metrics` and reports progress.

    Adds `tokens_per_s` (from TRL's running `num_tokens`) and `step_s` (wall time per
    optimizer step), so a live view needs no arithmetic of its own.
    """

    def __init__(self, *, db_path: str | None, run_id: int | None, record: dict[str, Any]) -> None:
        main = os.environ.get("RANK", "0") == "0"  # only the main process writes rows
        self.db = open_db(db_path, migrate=False) if db_path and run_id and main else None
        self.run_id = run_id
        self.record = record  # flames-model.json of the run, copied into each checkpoint
        self.last_time = time.monotonic()
        self.last_step = 0
        self.last_tokens = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        self.last_time = time.monotonic()
        self.last_step = state.global_step
        self.last_tokens = 0.0  # TRL counts tokens from zero in each process
        self._write(rows.set_progress, total_steps=state.max_steps)
        events.emit("begin", step=state.global_step, total=state.max_steps)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        metrics = {
            name: float(value)
            for name, value in logs.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        }
        summary = any(key in metrics for key in SUMMARY_KEYS)
        now = time.monotonic()
        if not summary and state.global_step > self.last_step:
            elapsed = now - self.last_time
            metrics["step_s"] = elapsed / (state.global_step - self.last_step)
            tokens = metrics.get("num_tokens")
            if tokens is not None and elapsed > 0 and tokens >= self.last_tokens:
                metrics["tokens_per_s"] = (tokens - self.last_tokens) / elapsed
                self.last_tokens = tokens
            self.last_time, self.last_step = now, state.global_step
        if metrics:
            self._write(rows.add_metrics, state.global_step, metrics)
        if not summary:
            events.emit("step", step=state.global_step, total=state.max_steps, metrics=metrics)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not folder.is_dir():
            return
        # A checkpoint is a model too: record its base so it loads like the final folder.
        record = {**self.record, "steps": state.global_step, "checkpoint": True}
        (folder / MODEL_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        self._write(rows.add_checkpoint, state.global_step, str(folder))
        events.emit("checkpoint", step=state.global_step, total=state.max_steps, path=str(folder))

    def _write(self, query: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """One row write; a workspace that stays locked loses that row, never the training."""
        if self.db is None or self.run_id is None:
            return
        try:
            query(self.db, self.run_id, *args, **kwargs)
        except sqlite3.Error as exc:
            print(f"[flames] could not record {query.__name__}: {exc}", file=sys.stderr)


class SaveAtSteps(TrainerCallback):
    """Saves a checkpoint at K steps spread evenly over the run, the last on the final step."""

    def __init__(self, checkpoints: int) -> None:
        self.checkpoints = checkpoints
        self.steps: set[int] = set()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.steps = set(checkpoint_steps(state.max_steps, self.checkpoints))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step in self.steps:
            control.should_save = True


class OwnerWatchdog:
    """Ends the worker when the process that launched it is gone (killed, or its SSH dropped).

    Without it a worker orphaned by a SIGKILL of `flames train` would keep writing into the
    output folder while the rerun of the same command resumes there.
    """

    def __init__(self, owner_pid: int | None, interval_s: float = 2.0) -> None:
        self.owner_pid = owner_pid
        self.interval_s = interval_s

    def start(self) -> None:
        import threading

        if self.owner_pid:
            threading.Thread(target=self._watch, name="owner-watchdog", daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.interval_s)
            if not _alive(self.owner_pid or 0):
                os._exit(143)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed owner not yet reaped by its own parent is a zombie: gone for us
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True
