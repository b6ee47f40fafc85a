"""A CLI command running as a background job: its job row, its log, its runner.

The runner (`workbench.jobs.runner`) sets $FLAMES_JOB_ID and starts the command. The
command then (1) adds the job-row reporter to every progress bar it draws, so the row
follows the same `pipeline.progress` events as the bar, (2) prints a plain progress line
to the log every few seconds (a bar draws nothing useful into a file), and (3) watches its
runner and stops, as on Ctrl-C, when the runner is gone.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

from pipeline.jobs import JOB_RUNNER_ENV
from pipeline.jobs.processes import ProcessIdentity, watch
from pipeline.jobs.reporter import current_job, job_reporter, record_failures
from pipeline.progress import ProgressEvent, Reporter

PRINT_EVERY_S = 5.0


class LogLines:
    """Prints `[progress] stage done/total detail` to stderr (the job's log), throttled."""

    def __init__(self, every_s: float = PRINT_EVERY_S) -> None:
        self.every_s = every_s
        self._at = 0.0
        self._stage: str | None = None

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.stage == self._stage and now - self._at < self.every_s and not event.finished:
            return
        self._at, self._stage = now, event.stage
        total = event.total if event.total is not None else "?"
        line = f"[progress] {event.stage}: {event.done}/{total}"
        if event.detail:
            line += f"  {event.detail}"
        print(line, file=sys.stderr, flush=True)


def job_reporters() -> list[Reporter]:
    """The reporters a job adds to each bar (none outside a job)."""
    reporter = job_reporter()
    return [] if reporter is None else [reporter, LogLines()]


def flush() -> None:
    """Write the last progress held back by the row's throttle."""
    reporter = job_reporter()
    if reporter is not None:
        reporter.flush()


def note_failures(count: int) -> None:
    """Record on the job row how many units the command left failed."""
    record_failures(count)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def enter_job_mode() -> None:
    """In a job: stop like Ctrl-C on SIGTERM (cancel) and when the runner is gone."""
    if current_job() is None:
        return
    signal.signal(signal.SIGTERM, _interrupt)
    runner = ProcessIdentity.decode(os.environ.get(JOB_RUNNER_ENV, ""))
    if runner is not None:
        watch(runner, lambda: os.kill(os.getpid(), signal.SIGTERM))
