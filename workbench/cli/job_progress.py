"""Inside a background job: mirror the CLI's rich progress bars into the job's row.

A job runs `flames ...` with $FLAMES_JOB_ID set. Its progress bars draw nothing useful into
a log file, so this bridge forwards every bar update to `pipeline.jobs.supervisor.report_progress`
(throttled) and prints a plain progress line to the log every few seconds. Commands need no
change; one that reports progress itself simply makes this redundant.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.progress import Progress, TaskID

from pipeline.jobs.supervisor import report_progress

PRINT_EVERY_S = 5.0
_last_print = 0.0


def _mirror(progress: Progress, task_id: TaskID) -> None:
    global _last_print
    task = next((t for t in progress.tasks if t.id == task_id), None)
    if task is None:
        return
    total = int(task.total) if task.total is not None else None
    report_progress(int(task.completed), total, task.description)
    now = time.monotonic()
    if now - _last_print >= PRINT_EVERY_S or (total is not None and task.completed >= total):
        _last_print = now
        print(
            f"[progress] {task.description}: {int(task.completed)}/{total or '?'}",
            file=sys.stderr,
            flush=True,
        )


def install() -> None:
    """Wrap Progress.update/advance so each call also reports to the job row."""
    update, advance = Progress.update, Progress.advance

    def mirrored_update(self: Progress, task_id: TaskID, **kwargs: Any) -> None:
        update(self, task_id, **kwargs)
        _mirror(self, task_id)

    def mirrored_advance(self: Progress, task_id: TaskID, advance_by: float = 1) -> None:
        advance(self, task_id, advance_by)
        _mirror(self, task_id)

    Progress.update = mirrored_update  # type: ignore[method-assign]
    Progress.advance = mirrored_advance  # type: ignore[method-assign]


def run(argv: list[str] | None = None) -> None:
    """Entry point of a job's command: the bridge, then the normal CLI."""
    from workbench.cli.main import main

    install()
    main(sys.argv[1:] if argv is None else argv)
