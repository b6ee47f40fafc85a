"""Job truth in the TUI: ended jobs never look busy, failures are news on every screen, and
the Experiments screen follows what jobs write (issue 16 item 13, issue 17 items 8-9)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import DataTable, ProgressBar

from storage import jobs as job_rows
from storage.database import open_db
from tests.tui.helpers import settle, text_of
from workbench.jobs.launcher import launch_job
from workbench.tui.app import FlamesApp

pytestmark = pytest.mark.asyncio


def ended_job(path: Path, status: str, done: int, total: int | None, **values: object) -> int:
    db = open_db(path)
    job_id = job_rows.insert_job(db, kind="generate", command=f"flames generate demo  # {status}")
    job_rows.set_progress(db, job_id, done, total, "generate: iqc 3/8")
    job_rows.update_job(db, job_id, **values)
    job_rows.finish_job(db, job_id, status=status, exit_code=values.get("exit_code"))  # type: ignore[arg-type]
    db.conn.close()
    return job_id


def rows(app: FlamesApp) -> list[list[str]]:
    table = app.screen.query_one("#jobs", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_ended_jobs_show_no_working_bar_and_say_their_failures(sample_db: Path) -> None:
    failed = ended_job(sample_db, "failed", 3, None, exit_code=1)
    cancelled = ended_job(sample_db, "cancelled", 4, 10)
    partial = ended_job(sample_db, "done", 10, 10, exit_code=3, failures=3)
    app = FlamesApp(sample_db, start="jobs", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda: len(rows(app)) == 3)
        by_id = {int(r[0]): r for r in rows(app)}
        assert "done with 3 failures" in by_id[partial][1]
        assert "failed" in by_id[failed][1] and "cancelled" in by_id[cancelled][1]
        bar = app.screen.query_one("#job-progress", ProgressBar)
        # Newest first: the partial job; its bar is full and still.
        assert "done with 3 failures" in text_of(pilot, "#job-command")
        assert bar.total == 10 and bar.progress == 10
        await pilot.press("down")  # the cancelled job: stands where it stopped, no animation
        await settle(pilot, lambda: f"job {cancelled}" in text_of(pilot, "#job-command"))
        assert bar.display and (bar.total, bar.progress) == (10, 4)
        await pilot.press("down")  # the failed job had no total: no bar, never "working"
        await settle(pilot, lambda: f"job {failed}" in text_of(pilot, "#job-command"))
        assert not bar.display
        assert "generate: iqc 3/8" in text_of(pilot, "#job-command")


async def test_a_failed_job_is_news_on_any_screen(sample_db: Path) -> None:
    seen: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            seen.append(message.notification.message)

    app = FlamesApp(sample_db, start="help", cursor_blink=False)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await settle(pilot)
        db = open_db(sample_db)
        job_id = launch_job(
            db, sample_db, shlex.join([sys.executable, "-c", "raise SystemExit(2)"]), kind="x"
        )
        db.conn.close()
        await settle(pilot, lambda: any(f"job {job_id} (x) failed" in m for m in seen), 20)
        assert any("exit code 2" in m for m in seen)


async def test_experiments_screen_follows_what_jobs_write(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: "Recent jobs" in text_of(pilot, "#experiment-arms"))
        assert "job 1 " not in text_of(pilot, "#experiment-arms")
        db = open_db(sample_db)  # a job elsewhere writes its row and finishes with failures
        experiment_id = db.execute("SELECT id FROM experiments LIMIT 1").fetchone()[0]
        job_id = job_rows.insert_job(
            db, kind="solve", command="flames solve demo", experiment_id=experiment_id
        )
        job_rows.update_job(db, job_id, failures=2)
        job_rows.finish_job(db, job_id, status="done", exit_code=3)
        db.conn.close()
        await settle(
            pilot,
            lambda: (
                f"job {job_id} solve done with 2 failures" in text_of(pilot, "#experiment-arms")
            ),
            10,
        )
