"""Jobs: background processes with progress, a live log tail, cancel and resume."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable, Footer, ProgressBar, Static

from pipeline.jobs.supervisor import cancel_job, read_log_tail, reap_stale, resume_job
from storage.jobs import JobRow, get_job, list_jobs
from workbench.tui.screens.base import WorkbenchScreen

STATUS = {
    "queued": "… queued",
    "running": "▶ running",
    "done": "✓ done",
    "failed": "✗ failed",
    "cancelled": "■ cancelled",
}
REFRESH_S = 1.0


class JobsScreen(WorkbenchScreen):
    """Every job, newest first; the highlighted one's command, progress and log."""

    FOCUS = "#jobs"
    BINDINGS = [
        Binding("c", "cancel", "Cancel job", id="jobs.cancel"),
        Binding("r", "resume", "Resume job", id="jobs.resume"),
        Binding("ctrl+r", "refresh_jobs", "Refresh", id="jobs.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.selected: int | None = None
        self._rows: list[JobRow] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="job-command")
        yield ProgressBar(id="job-progress", show_eta=False)
        yield Static("", id="job-log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#jobs", DataTable).add_columns(
            "id", "status", "kind", "progress", "command"
        )
        self.set_interval(REFRESH_S, self.refresh_jobs)
        self.refresh_jobs()

    def action_refresh_jobs(self) -> None:
        self.refresh_jobs()

    def refresh_jobs(self) -> None:
        if self.is_current:
            self._load(self.selected)

    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False)
    def _load(self, selected: int | None) -> None:
        with self.workspace.db() as db:
            reap_stale(db)
            rows = list_jobs(db, limit=200)
            job = get_job(db, selected) if selected is not None else (rows[0] if rows else None)
        log = read_log_tail(job.log_path, 12) if job else []
        self.app.call_from_thread(self._show, rows, job, log)

    def _show(self, rows: list[JobRow], job: JobRow | None, log: list[str]) -> None:
        table = self.query_one("#jobs", DataTable)
        if [(r.id, r.status, r.progress_done) for r in rows] != [
            (r.id, r.status, r.progress_done) for r in self._rows
        ]:
            cursor = table.cursor_row
            table.clear()
            for r in rows:
                done = f"{r.progress_done}/{r.progress_total}" if r.progress_total else "-"
                table.add_row(
                    str(r.id),
                    STATUS.get(r.status, r.status),
                    r.kind,
                    done,
                    r.command,
                    key=str(r.id),
                )
            if rows:
                table.move_cursor(row=min(cursor, len(rows) - 1))
            self._rows = rows
        self.query_one("#job-progress").display = job is not None
        if job is None:
            self.query_one("#job-command", Static).update(
                "No jobs yet: launch a stage from Experiments (1), e.g. g to generate."
            )
            return
        ended = f"  exit code {job.exit_code}" if job.exit_code is not None else ""
        self.query_one("#job-command", Static).update(
            f"[b]job {job.id}[/] {STATUS.get(job.status, job.status)}{ended}\n"
            f"CLI: {escape(job.command)}\nlog: {escape(job.log_path or '-')}  "
            f"follow: flames jobs log -f {job.id}"
        )
        bar = self.query_one("#job-progress", ProgressBar)
        bar.update(total=job.progress_total, progress=job.progress_done)
        self.query_one("#job-log", Static).update(escape("\n".join(log)) or "(no output yet)")

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
        self.app.call_from_thread(self.notify, text, timeout=4)
        self.app.call_from_thread(self.refresh_jobs)
