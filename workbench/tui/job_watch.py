"""Telling the user a job ended, on whichever screen they are.

A job runs for hours in its own process; its row is the only news. Every couple of seconds a
worker reads the newest rows (and marks rows whose runner is gone as failed); a job seen
running, or started since the TUI opened, that has now ended raises one notification:
an error for a failed job, a warning for one done with failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.notifications import SeverityLevel

from pipeline.jobs.control import reap_stale
from storage.jobs import JobRow, list_jobs

if TYPE_CHECKING:
    from workbench.tui.app import FlamesApp

CHECK_EVERY_S = 2.0


@dataclass
class JobNews:
    """Which job endings are news: remembers what it saw and what it already told."""

    first_new_id: int | None = None  # jobs from this id on started after the TUI opened
    running: set[int] = field(default_factory=set)
    told: set[int] = field(default_factory=set)

    def ended(self, rows: list[JobRow]) -> list[JobRow]:
        """The jobs among `rows` whose end the user has not been told about yet."""
        if self.first_new_id is None:
            self.first_new_id = max((r.id for r in rows), default=0) + 1
            self.running = {r.id for r in rows if r.active}
            return []
        news: list[JobRow] = []
        for row in rows:
            if row.active:
                self.running.add(row.id)
            elif row.id not in self.told and (
                row.id in self.running or row.id >= self.first_new_id
            ):
                self.told.add(row.id)
                self.running.discard(row.id)
                news.append(row)
        return news


def notice(job: JobRow) -> tuple[str, SeverityLevel]:
    """(message, severity) for a job that ended."""
    what = f"job {job.id} ({job.kind})"
    if job.status == "failed":
        code = f", exit code {job.exit_code}" if job.exit_code is not None else ""
        return f"{what} failed{code}: see Jobs (6) for its log", "error"
    if job.status == "cancelled":
        return f"{what} cancelled", "information"
    if job.status_text != "done":
        return f"{what} {job.status_text}: rerun it (r on Jobs) to retry them", "warning"
    return f"{what} done", "information"


class JobWatch:
    """Polls job rows from a worker thread and notifies the app of endings."""

    def __init__(self, app: FlamesApp) -> None:
        self.app = app
        self.news = JobNews()

    def start(self) -> None:
        self.app.set_interval(CHECK_EVERY_S, self.check)
        self.check()

    def check(self) -> None:
        self.app.run_worker(
            self._read, thread=True, exclusive=True, group="job-watch", exit_on_error=False
        )

    def _read(self) -> None:
        with self.app.workspace.db() as db:
            reap_stale(db)
            rows = list_jobs(db, limit=50)
        for job in self.news.ended(rows):
            message, severity = notice(job)
            self.app.call_from_thread(self._tell, message, severity)

    def _tell(self, message: str, severity: SeverityLevel) -> None:
        self.app.notify(
            message,
            title="Job",
            severity=severity,
            timeout=10 if severity != "information" else 5,
            markup=False,
        )
