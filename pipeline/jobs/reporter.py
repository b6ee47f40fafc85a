"""The job row as a progress reporter: the same events as the CLI bar, written to `jobs`.

Inside a job ($FLAMES_JOB_ID set by the runner) the CLI adds `job_reporter()` to its
reporters. Writes are throttled (the row at most twice a second, the job's history on a
change of stage or every 30 s) and each is one short transaction, so a job never holds
the workspace's write lock for long.
"""

from __future__ import annotations

import os
import time

from sqlite_utils import Database

from pipeline.jobs import JOB_DB_ENV, JOB_ID_ENV
from pipeline.progress import ProgressEvent, Throttle
from storage import jobs as job_rows
from storage.database import open_db

ROW_INTERVAL_S = 0.5
EVENT_INTERVAL_S = 30.0


class RowWriter:
    """Writes each event it gets to one job's row (unthrottled: wrap it in `Throttle`)."""

    def __init__(self, db: Database, job_id: int) -> None:
        self.db = db
        self.job_id = job_id
        self._stage: str | None = None
        self._event_at = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        history = event.stage != self._stage or now - self._event_at >= EVENT_INTERVAL_S
        if history:
            self._stage, self._event_at = event.stage, now
        detail = f"{event.stage}: {event.detail}" if event.detail else event.stage
        job_rows.set_progress(
            self.db,
            self.job_id,
            event.done,
            event.total,
            detail,
            failures=event.failed,
            event=history or event.finished,
        )


class JobReporter(Throttle):
    """The reporter of the job this process runs as: its row, throttled."""

    def __init__(self, db_path: str, job_id: int) -> None:
        self.job_id = job_id
        self.db_path = db_path
        super().__init__(RowWriter(open_db(db_path, migrate=False), job_id), ROW_INTERVAL_S)


def current_job() -> tuple[str, int] | None:
    """(workspace path, job id) when this process runs as a job, else None."""
    job_id = os.environ.get(JOB_ID_ENV)
    db_path = os.environ.get(JOB_DB_ENV)
    if not job_id or not db_path:
        return None
    try:
        return db_path, int(job_id)
    except ValueError:
        return None


_reporter: JobReporter | None = None


def job_reporter() -> JobReporter | None:
    """This process's job-row reporter (one per process), or None outside a job."""
    global _reporter
    job = current_job()
    if job is None:
        return None
    if _reporter is None or (_reporter.db_path, _reporter.job_id) != job:
        _reporter = JobReporter(*job)
    return _reporter


def record_failures(count: int) -> None:
    """Store how many units this job left failed (it ends "done with N failures")."""
    job = current_job()
    if job is None:
        return
    db_path, job_id = job
    reporter = job_reporter()
    if reporter is not None:
        reporter.flush()
    db = open_db(db_path, migrate=False)
    try:
        job_rows.update_job(db, job_id, failures=count)
    finally:
        db.conn.close()
