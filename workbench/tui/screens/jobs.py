"""Jobs: background processes with progress, a live log tail, cancel and resume.

A job's bar is its one overall progress (the same `pipeline.progress` events its command
draws in a terminal). Only a job that is working animates: a finished, failed or
cancelled job shows where it stopped, and its status says "done with N failures" when
it finished but left work failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from pipeline.jobs.control import cancel_job, read_log_tail, reap_stale
from storage.jobs import JobRow, get_job, list_jobs
from workbench.jobs.launcher import resume_job
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table

MARKS = {
    "queued": "…",
    "running": "▶",
    "done": "✓",
    "failed": "✗",
    "cancelled": "■",
}
REFRESH_S = 1.0


def status_label(job: JobRow) -> str:
    """The status column: a mark and the status in words ("✓ done with 3 failures")."""
    mark = "!" if job.status == "done" and job.status_text != "done" else MARKS.get(job.status)
    return f"{mark or ''} {job.status_text}".strip()


def progress_label(job: JobRow) -> str:
    if job.progress_total:
        return f"{100 * job.progress_done // max(1, job.progress_total)}%"
    return str(job.progress_done) if job.progress_done else "-"


@dataclass(frozen=True)
class JobView:
    """What the screen shows: the job list and the highlighted job with its log tail."""

    rows: list[JobRow]
    job: JobRow | None
    log: list[str]


class JobsScreen(WorkbenchScreen):
    """Every job, newest first; the highlighted one's command, progress and log."""

    FOCUS = "#jobs"
    BINDINGS = [
        Binding("c", "cancel", "Cancel job", id="jobs.cancel"),
        Binding("r", "resume", "Resume job", id="jobs.resume"),
        Binding("ctrl+r", "refresh_jobs", "Refresh", id="jobs.refresh"),
    ]

    class Loaded(Message):
        """A worker read the jobs."""

        def __init__(self, view: JobView) -> None:
            super().__init__()
            self.view = view

    def __init__(self) -> None:
        super().__init__()
        self.selected: int | None = None
        self._rows: list[tuple[int, str, str, str]] = []

    def compose(self) -> ComposeResult:
        yield Table(id="jobs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="job-command", markup=False)
        yield ProgressBar(id="job-progress", show_eta=False)
        yield Static("", id="job-log", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#jobs", DataTable).add_columns(
            "id", "status", "kind", "progress", "command"
        )
        self.set_interval(REFRESH_S, self._refresh)
        self.refresh_jobs()

    def action_refresh_jobs(self) -> None:
        self.refresh_jobs()

    def _refresh(self) -> None:
        # A slow load still in flight shows first (see `load_in_flight`).
        if not self.load_in_flight("jobs"):
            self.refresh_jobs()

    def refresh_jobs(self) -> None:
        if self.is_current:
            self._load(self.selected)

    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False)
    def _load(self, selected: int | None) -> None:
        with self.workspace.db() as db:
            reap_stale(db)  # a row whose process is gone is never shown running
            rows = list_jobs(db, limit=200)
            job = get_job(db, selected) if selected is not None else (rows[0] if rows else None)
        log = read_log_tail(job.log_path, 12) if job else []
        self.post_result(self.Loaded(JobView(rows, job, log)))

    def on_jobs_screen_loaded(self, event: Loaded) -> None:
        self._show(event.view)

    def _show(self, view: JobView) -> None:
        table = self.query_one("#jobs", DataTable)
        shown = [
            (r.id, status_label(r), progress_label(r), r.progress_detail or "") for r in view.rows
        ]
        if shown != self._rows:
            cursor = table.cursor_row
            table.clear()
            for r in view.rows:
                table.add_row(
                    str(r.id), status_label(r), r.kind, progress_label(r), r.command, key=str(r.id)
                )
            if view.rows:
                table.move_cursor(row=min(cursor, len(view.rows) - 1))
            self._rows = shown
        job = view.job
        bar = self.query_one("#job-progress", ProgressBar)
        if job is None:
            bar.display = False
            self.query_one("#job-command", Static).update(
                "No jobs yet: launch a stage from Experiments (1), e.g. g to generate, "
                "or run `flames jobs start -- COMMAND`."
            )
            self.query_one("#job-log", Static).update("")
            return
        ended = f"  exit code {job.exit_code}" if job.exit_code is not None else ""
        detail = f"\n{job.progress_detail}" if job.progress_detail else ""
        self.query_one("#job-command", Static).update(
            f"job {job.id} {status_label(job)}{ended}{detail}\n"
            f"CLI: {job.command}\nlog: {job.log_path or '-'}  follow: flames jobs log -f {job.id}"
        )
        self._show_bar(bar, job)
        self.query_one("#job-log", Static).update("\n".join(view.log) or "(no output yet)")

    @staticmethod
    def _show_bar(bar: ProgressBar, job: JobRow) -> None:
        """Animate only while the job works; an ended job's bar stands where it stopped."""
        if job.active:
            bar.display = True
            bar.update(total=job.progress_total, progress=job.progress_done)
            return
        if not job.progress_total:
            bar.display = False  # no total to show, and an ended job must not look busy
            return
        bar.display = True
        bar.update(total=job.progress_total, progress=min(job.progress_done, job.progress_total))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.selected = int(event.row_key.value)
            self._load(self.selected)

    def action_cancel(self) -> None:
        if self.selected is not None:
            self._act("cancel", self.selected)

    def action_resume(self) -> None:
        if self.selected is not None:
            self._act("resume", self.selected)

    @work(thread=True, exclusive=True, group="jobs-act", exit_on_error=False)
    def _act(self, action: str, job_id: int) -> None:
        with self.workspace.db() as db:
            if action == "cancel":
                cancel_job(db, job_id)
                text = f"job {job_id} cancelled; r resumes it"
            else:
                text = f"job {job_id} resumed as job {resume_job(db, self.flames.db_path, job_id)}"
        self.app.call_from_thread(self.notify, text, timeout=4, markup=False)
        self.app.call_from_thread(self.refresh_jobs)
