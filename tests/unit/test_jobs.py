"""Background jobs: detached runs, exit codes, logs, progress, cancel, stale rows, resume."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.jobs import supervisor as jobs
from storage import jobs as job_rows
from storage.database import open_db


def wait_for(db_path: Path, job_id: int, statuses: tuple[str, ...], timeout: float = 20.0) -> str:
    """Poll (with a fresh connection) until the job reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db = open_db(db_path)
        job = job_rows.get_job(db, job_id)
        db.conn.close()
        if job is not None and job.status in statuses:
            return job.status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {statuses}")


def python_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    open_db(path).conn.close()
    return path


def test_job_runs_detached_records_exit_code_and_log(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = jobs.launch_job(db, db_path, python_command("print('hello from job')"), kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    job = job_rows.get_job(db, job_id)
    assert job is not None and job.exit_code == 0 and job.ended_at is not None
    assert "hello from job" in "\n".join(jobs.read_log_tail(job.log_path))


def test_failing_command_is_failed_with_its_exit_code(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = jobs.launch_job(db, db_path, python_command("import sys; sys.exit(3)"), kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "failed"
    job = job_rows.get_job(db, job_id)
    assert job is not None and job.exit_code == 3


def test_progress_is_written_by_the_job_itself(db_path: Path) -> None:
    code = "from pipeline.jobs.supervisor import report_progress; report_progress(5, 10, 'half')"
    db = open_db(db_path)
    job_id = jobs.launch_job(db, db_path, python_command(code), kind="test")
    wait_for(db_path, job_id, ("done",))
    job = job_rows.get_job(db, job_id)
    assert job is not None and (job.progress_done, job.progress_total) == (5, 10)
    kinds = [kind for _, _, kind, _ in job_rows.list_events(db, job_id)]
    assert "progress" in kinds


def test_report_progress_outside_a_job_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jobs.JOB_ID_ENV, raising=False)
    jobs.report_progress(1, 2)  # must not raise nor open anything


def test_cancel_kills_the_process_group(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = jobs.launch_job(
        db, db_path, python_command("import time; time.sleep(60)"), kind="test"
    )
    wait_for(db_path, job_id, ("running",))
    time.sleep(0.3)
    job = jobs.cancel_job(db, job_id)
    assert job.status == "cancelled"
    assert job.pid is not None
    deadline = time.monotonic() + 10
    while jobs.pid_alive(job.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not jobs.pid_alive(job.pid)
    assert job_rows.get_job(db, job_id).status == "cancelled"  # type: ignore[union-attr]


def test_job_survives_the_launcher_exiting(db_path: Path, tmp_path: Path) -> None:
    """An SSH drop: the process that launched the job exits at once; the job still ends done."""
    marker = tmp_path / "marker.txt"
    command = python_command(f"import time; time.sleep(1); open({str(marker)!r}, 'w').write('ok')")
    launcher = (
        f"from storage.database import open_db; from pipeline.jobs.supervisor import launch_job; "
        f"print(launch_job(open_db({str(db_path)!r}), {str(db_path)!r}, {command!r}, "
        f"kind='test'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", launcher],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    job_id = int(out.stdout.strip())
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    assert marker.read_text() == "ok"


def test_stale_running_rows_are_marked_failed(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = job_rows.insert_job(db, kind="test", command="flames generate x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_rows.update_job(db, job_id, status="running", pid=dead.pid)
    assert jobs.reap_stale(db) == [job_id]
    assert job_rows.get_job(db, job_id).status == "failed"  # type: ignore[union-attr]


def test_resume_relaunches_the_same_command(db_path: Path) -> None:
    db = open_db(db_path)
    command = python_command("print(1)")
    first = jobs.launch_job(db, db_path, command, kind="test")
    wait_for(db_path, first, ("done",))
    second = jobs.resume_job(db, db_path, first)
    assert second != first
    assert job_rows.get_job(db, second).command == command  # type: ignore[union-attr]
    wait_for(db_path, second, ("done",))


def test_stage_command_is_the_cli_line() -> None:
    assert (
        jobs.stage_command("generate", "w.db", "quick start")
        == "flames generate 'quick start' --db w.db"
    )
    assert jobs.command_argv("flames jobs list")[-2:] == ["jobs", "list"]
    assert jobs.command_argv("flames x")[0] == sys.executable


def test_cli_lists_shows_and_logs_jobs(db_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli.main import cli

    db = open_db(db_path)
    job_id = jobs.launch_job(db, db_path, python_command("print('cli job')"), kind="test")
    wait_for(db_path, job_id, ("done",))
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list", "--db", str(db_path)])
    assert listed.exit_code == 0 and "done" in listed.output
    shown = runner.invoke(cli, ["jobs", "show", "--db", str(db_path), str(job_id)])
    assert "exit_code: 0" in shown.output
    logged = runner.invoke(cli, ["jobs", "log", "--db", str(db_path), str(job_id)])
    assert "cli job" in logged.output
    cancel = runner.invoke(cli, ["jobs", "cancel", "--db", str(db_path), str(job_id)])
    assert cancel.exit_code != 0


def test_flames_job_runs_the_real_cli_through_the_bridge(db_path: Path) -> None:
    db = open_db(db_path)
    first = jobs.launch_job(db, db_path, python_command("print('x')"), kind="test")
    wait_for(db_path, first, ("done",))
    # `flames jobs log` of a finished job prints its log and returns: a cheap real CLI run.
    job_id = jobs.launch_job(db, db_path, f"flames jobs log --db {db_path} {first}", kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    log = jobs.read_log_tail(job_rows.get_job(db, job_id).log_path)  # type: ignore[union-attr]
    assert "x" in log


def test_progress_bridge_reports_rich_updates(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.progress import Progress

    from workbench.cli import job_progress

    db = open_db(db_path)
    job_id = job_rows.insert_job(db, kind="test", command="flames x")
    monkeypatch.setenv(jobs.JOB_ID_ENV, str(job_id))
    monkeypatch.setenv(jobs.JOB_DB_ENV, str(db_path))
    monkeypatch.setattr(jobs, "_reporter", None)
    monkeypatch.setattr(Progress, "update", Progress.update)  # undone after the test
    monkeypatch.setattr(Progress, "advance", Progress.advance)
    job_progress.install()
    with Progress(disable=True) as progress:
        task = progress.add_task("solve", total=4)
        progress.update(task, completed=4)
    job = job_rows.get_job(db, job_id)
    assert job is not None and (job.progress_done, job.progress_total) == (4, 4)
