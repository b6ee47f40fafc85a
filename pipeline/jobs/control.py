"""Looking after jobs from outside: stale rows, cancelling, logs.

Every signal goes through `pipeline.jobs.processes`, which checks that the pid still is
the job's process (same start time) first; a row whose processes are gone is never
reported running.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.jobs.processes import is_running, signal_process
from storage import jobs as job_rows
from storage.jobs import JobRow


def log_dir(db_path: str | Path) -> Path:
    """Where job logs go: a folder next to the workspace file."""
    path = Path(db_path).resolve()
    return path.parent / f"{path.stem}-jobs"


def runner_alive(job: JobRow) -> bool:
    """Whether the job's runner process still runs (checked by pid and start time)."""
    return is_running(job.pid, job.pid_started)


def command_alive(job: JobRow) -> bool:
    """Whether the command the runner started still runs (checked by pid and start time)."""
    return is_running(job.child_pid, job.child_started)


def stop_orphan(job: JobRow) -> bool:
    """End a job's command left running without its runner; True if one was signalled."""
    return signal_process(job.child_pid, job.child_started, signal.SIGTERM)


def reap_stale(db: Database) -> list[int]:
    """Mark queued/running jobs whose runner is gone as failed; return their ids.

    A command still running without its runner (possible only where the kernel cannot tie
    it to its parent) is stopped: it would otherwise run on under a "failed" row, and a
    resume would run it twice.
    """
    stale: list[int] = []
    for job in job_rows.list_jobs(db, active_only=True, limit=10_000):
        if job.pid is None or runner_alive(job):
            continue  # queued and not yet started by its runner, or alive
        stopped = stop_orphan(job)
        message = "runner process gone: marked failed"
        if stopped:
            message += f"; stopped its command (pid {job.child_pid})"
        if job_rows.finish_job(
            db, job.id, status="failed", exit_code=job.exit_code, message=message
        ):
            stale.append(job.id)
    return stale


def cancel_job(db: Database, job_id: int) -> JobRow:
    """Stop a job: mark it cancelled, then SIGTERM its runner's process group.

    A finished job whose command still runs (an orphan left by an older release) is
    stopped too instead of being refused.
    """
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise FlamesError(f"no job {job_id}: see `flames jobs list`")
    if not job.active:
        if stop_orphan(job):
            job_rows.add_event(db, job_id, "status", "cancel: stopped its command still running")
            return job_rows.get_job(db, job_id) or job
        raise FlamesError(f"job {job_id} is already {job.status_text}; nothing to cancel")
    job_rows.finish_job(db, job_id, status="cancelled", exit_code=None, message="cancelled")
    if not signal_process(job.pid, job.pid_started, signal.SIGTERM, group=True):
        stop_orphan(job)  # the runner is gone; its command may not be
    return job_rows.get_job(db, job_id) or job


def read_log_tail(path: str | None, max_lines: int = 200) -> list[str]:
    """The last lines of a job's log (empty when there is none yet)."""
    if not path or not Path(path).exists():
        return []
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64_000))
        data = handle.read().decode("utf-8", errors="replace")
    return data.splitlines()[-max_lines:]
