"""Background jobs: detached runs, exit codes, logs, progress rows, cancel, stale rows, locks."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import FlamesError
from pipeline.jobs import JOB_DB_ENV, JOB_ID_ENV
from pipeline.jobs.control import cancel_job, read_log_tail, reap_stale
from pipeline.jobs.locks import stage_lock
from pipeline.jobs.processes import current, identity_of, is_running, watch
from pipeline.jobs.reporter import job_reporter
from pipeline.progress import ProgressEvent
from storage import jobs as job_rows
from storage.database import open_db
from workbench.jobs.launcher import (
    command_argv,
    kind_of,
    launch_job,
    resume_job,
    stage_command,
)

ROOT = Path(__file__).resolve().parents[2]


def wait_for(db_path: Path, job_id: int, statuses: tuple[str, ...], timeout: float = 30.0) -> str:
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


def wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition never became true")


def python_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def job(db_path: Path, job_id: int) -> job_rows.JobRow:
    db = open_db(db_path)
    row = job_rows.get_job(db, job_id)
    db.conn.close()
    assert row is not None
    return row


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    open_db(path).conn.close()
    return path


def test_job_runs_detached_records_exit_code_and_log(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = launch_job(db, db_path, python_command("print('hello from job')"), kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    row = job(db_path, job_id)
    assert row.exit_code == 0 and row.ended_at is not None and row.status_text == "done"
    assert row.pid_started is not None and row.child_pid is not None
    assert "hello from job" in "\n".join(read_log_tail(row.log_path))


def test_failing_command_is_failed_with_its_exit_code(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = launch_job(db, db_path, python_command("import sys; sys.exit(4)"), kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "failed"
    assert job(db_path, job_id).exit_code == 4


def test_exit_3_is_done_with_its_failures_counted(db_path: Path) -> None:
    code = (
        "import sys; from pipeline.jobs.reporter import record_failures; "
        "record_failures(7); sys.exit(3)"
    )
    job_id = launch_job(open_db(db_path), db_path, python_command(code), kind="test")
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    row = job(db_path, job_id)
    assert (row.exit_code, row.failures) == (3, 7)
    assert row.status_text == "done with 7 failures"


def test_progress_events_reach_the_row_from_inside_the_job(db_path: Path) -> None:
    code = (
        "from pipeline.jobs.reporter import job_reporter; "
        "from pipeline.progress import ProgressEvent; r = job_reporter(); "
        "r(ProgressEvent('solve', 0, 10)); r(ProgressEvent('solve', 5, 10, 'half', failed=1)); "
        "r.flush()"
    )
    job_id = launch_job(open_db(db_path), db_path, python_command(code), kind="test")
    wait_for(db_path, job_id, ("done",))
    row = job(db_path, job_id)
    assert (row.progress_done, row.progress_total, row.failures) == (5, 10, 1)
    assert row.progress_detail == "solve: half"
    db = open_db(db_path)
    assert "progress" in [kind for _, _, kind, _ in job_rows.list_events(db, job_id)]


def test_outside_a_job_there_is_no_job_reporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JOB_ID_ENV, raising=False)
    assert job_reporter() is None


def test_cancel_kills_the_process_group(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = launch_job(db, db_path, python_command("import time; time.sleep(60)"), kind="test")
    wait_for(db_path, job_id, ("running",))
    wait_until(lambda: job(db_path, job_id).child_pid is not None)
    row = cancel_job(db, job_id)
    assert row.status == "cancelled"
    wait_until(lambda: not is_running(row.pid, row.pid_started))
    wait_until(lambda: not is_running(row.child_pid, row.child_started))
    assert job(db_path, job_id).status == "cancelled"


def test_job_survives_the_launcher_exiting(db_path: Path, tmp_path: Path) -> None:
    """An SSH drop: the process that launched the job exits at once; the job still ends done."""
    marker = tmp_path / "marker.txt"
    command = python_command(f"import time; time.sleep(1); open({str(marker)!r}, 'w').write('ok')")
    launcher = (
        f"from storage.database import open_db; from workbench.jobs.launcher import launch_job; "
        f"print(launch_job(open_db({str(db_path)!r}), {str(db_path)!r}, {command!r}, "
        f"kind='test'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, check=True, cwd=ROOT
    )
    job_id = int(out.stdout.strip())
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    assert marker.read_text() == "ok"


def test_killing_the_runner_takes_its_command_down(db_path: Path, tmp_path: Path) -> None:
    """The runner SIGKILLed: its command must not run on under a row that says failed."""
    marker = tmp_path / "late.txt"
    command = python_command(
        f"import time; time.sleep(4); open({str(marker)!r}, 'w').write('still ran')"
    )
    db = open_db(db_path)
    job_id = launch_job(db, db_path, command, kind="test")
    wait_until(lambda: job(db_path, job_id).child_pid is not None)
    row = job(db_path, job_id)
    os.kill(row.pid or 0, signal.SIGKILL)
    wait_until(lambda: not is_running(row.child_pid, row.child_started), timeout=10)
    assert reap_stale(db) == [job_id]
    assert job(db_path, job_id).status == "failed"
    time.sleep(4.5)
    assert not marker.exists()


def test_a_command_watches_its_runner(tmp_path: Path) -> None:
    """Where the kernel cannot tie a child to its parent, the child's own watch ends it."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = identity_of(sleeper.pid)
    assert identity is not None
    gone: list[bool] = []
    watch(identity, lambda: gone.append(True), every_s=0.05)
    time.sleep(0.2)
    assert gone == []
    sleeper.kill()
    sleeper.wait()
    wait_until(lambda: gone == [True])


def test_stale_running_rows_are_marked_failed(db_path: Path) -> None:
    db = open_db(db_path)
    job_id = job_rows.insert_job(db, kind="test", command="flames generate x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_rows.update_job(db, job_id, status="running", pid=dead.pid, pid_started=time.time())
    assert reap_stale(db) == [job_id]
    assert job(db_path, job_id).status == "failed"


def test_a_reused_pid_is_never_signalled_nor_reported_running(db_path: Path) -> None:
    """A stale row whose pid now belongs to another process (here: this test itself)."""
    db = open_db(db_path)
    job_id = job_rows.insert_job(db, kind="test", command="flames generate x")
    me = current()
    job_rows.update_job(db, job_id, status="running", pid=me.pid, pid_started=me.started - 3600.0)
    assert not is_running(me.pid, me.started - 3600.0) and is_running(me.pid, me.started)
    cancelled = cancel_job(db, job_id)  # would SIGTERM this very process without the check
    assert cancelled.status == "cancelled"
    other = job_rows.insert_job(db, kind="test", command="flames solve x")
    job_rows.update_job(db, other, status="running", pid=me.pid, pid_started=me.started - 60)
    assert reap_stale(db) == [other]


def test_the_same_command_cannot_be_launched_twice_at_once(db_path: Path) -> None:
    db = open_db(db_path)
    command = python_command("import time; time.sleep(30)")
    first = launch_job(db, db_path, command, kind="test")
    with pytest.raises(FlamesError, match=f"job {first} already runs"):
        launch_job(db, db_path, command, kind="test")
    cancel_job(db, first)


def test_resume_relaunches_the_same_command(db_path: Path) -> None:
    db = open_db(db_path)
    command = python_command("print(1)")
    first = launch_job(db, db_path, command, kind="test")
    wait_for(db_path, first, ("done",))
    second = resume_job(db, db_path, first)
    assert second != first and job(db_path, second).command == command
    wait_for(db_path, second, ("done",))


def test_stage_lock_refuses_a_second_live_holder_and_takes_over_a_dead_one(
    db_path: Path,
) -> None:
    db = open_db(db_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = identity_of(holder.pid)
    assert identity is not None
    with db.conn:
        job_rows.put_lock(
            db, job_rows.LockRow("generate on experiment 1", holder.pid, identity.started, 9, "x")
        )
    refused = r"generate is already running .*job 9.*jobs cancel 9"
    with pytest.raises(FlamesError, match=refused), stage_lock(db, "generate", "experiment 1"):
        pass
    holder.kill()
    holder.wait()
    # The holder may take its lock again (a run calling a stage).
    with stage_lock(db, "generate", "experiment 1"), stage_lock(db, "generate", "experiment 1"):
        lock = job_rows.get_lock(db, "generate on experiment 1")
        assert lock is not None and lock.pid == os.getpid()
    assert job_rows.get_lock(db, "generate on experiment 1") is None


def test_commands_kinds_and_argv() -> None:
    assert (
        stage_command("generate", "w.db", "quick start")
        == "flames generate 'quick start' --db w.db"
    )
    assert command_argv("flames jobs list")[-2:] == ["jobs", "list"]
    assert command_argv("flames x")[:3] == [sys.executable, "-m", "workbench.cli"]
    assert kind_of("flames eval exp --db w.db") == "eval"
    assert kind_of("flames --db w.db train exp") == "train"
    assert kind_of("/usr/bin/python3 -c x") == "python3"


def test_cli_starts_lists_shows_and_logs_jobs(db_path: Path, tmp_path: Path) -> None:
    """Any flames command runs as a job; its progress reaches the row through the one protocol."""
    from click.testing import CliRunner

    from workbench.cli.main import cli

    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        "".join(json.dumps({"question": f"Q{i}?", "answer": str(i)}) + "\n" for i in range(50)),
        encoding="utf-8",
    )
    runner = CliRunner()
    started = runner.invoke(
        cli,
        ["jobs", "start", "--db", str(db_path), "--", "seeds", "import", str(seeds), "--name", "s"],
    )
    assert started.exit_code == 0, started.output
    job_id = int(started.output.split()[1])
    assert wait_for(db_path, job_id, ("done", "failed")) == "done"
    row = job(db_path, job_id)
    assert row.kind == "seeds"
    assert (row.progress_done, row.progress_total) == (50, 50)
    assert "[progress] seeds import: 50/50" in "\n".join(read_log_tail(row.log_path))
    listed = runner.invoke(cli, ["jobs", "list", "--db", str(db_path)])
    assert listed.exit_code == 0 and "done" in listed.output
    shown = runner.invoke(cli, ["jobs", "show", "--db", str(db_path), str(job_id)])
    assert "exit_code: 0" in shown.output
    logged = runner.invoke(cli, ["jobs", "log", "--db", str(db_path), str(job_id)])
    assert "50 added" in logged.output
    cancel = runner.invoke(cli, ["jobs", "cancel", "--db", str(db_path), str(job_id)])
    assert cancel.exit_code != 0 and "already done" in str(cancel.exception)


def test_a_job_row_follows_the_same_events_as_a_bar(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.cli import progress as cli_progress
    from workbench.cli.job_progress import job_reporters

    db = open_db(db_path)
    job_id = job_rows.insert_job(db, kind="test", command="flames x")
    monkeypatch.setenv(JOB_ID_ENV, str(job_id))
    monkeypatch.setenv(JOB_DB_ENV, str(db_path))
    assert len(job_reporters()) == 2
    with cli_progress.reporter_bar("solve", stages=["solve", "score"]) as report:
        report(ProgressEvent("solve", 4, 4))
        report(ProgressEvent("score", 1, 2))
    row = job(db_path, job_id)
    # One overall bar for the job: solve done is half of it, whatever score's own counts.
    assert (row.progress_done, row.progress_total) == (750, 1000)
    assert row.progress_detail is not None and row.progress_detail.startswith("solve: score 1/2")


def test_a_stage_cannot_run_twice_at_once_on_one_experiment(db_path: Path) -> None:
    """A second `flames solve` (a resumed job, another terminal) is refused while one runs."""
    from pipeline.experiments.store import create_experiment

    db = open_db(db_path)
    create_experiment(db, "demo", preset="quickstart")
    experiment_id = db.execute("SELECT id FROM experiments WHERE name = 'demo'").fetchone()[0]
    with stage_lock(db, "solve", f"experiment {experiment_id}"):
        second = subprocess.run(
            [sys.executable, "-m", "workbench.cli", "solve", "demo", "--db", str(db_path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    assert second.returncode == 1, second.stderr
    assert f"solve is already running on experiment {experiment_id}" in second.stderr
    assert "Traceback" not in second.stderr
