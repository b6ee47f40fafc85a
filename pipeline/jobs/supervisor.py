"""Background jobs: `flames ...` commands run as detached processes with a row in `jobs`.

A job is launched as `python -m pipeline.jobs.supervisor --db DB --job ID`, a small runner in a new
session (so an SSH drop or the TUI quitting never kills it) that runs the job's command,
streams its output to a log file and records the exit code. The command itself reports
progress through `report_progress`, which finds its job from $FLAMES_JOB_ID. Every stage is
resumable, so resuming a job is launching the same command again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from sqlite_utils import Database

from pipeline.errors import FlamesError
from storage import jobs as job_rows
from storage.database import open_db
from storage.jobs import JobRow

JOB_ID_ENV = "FLAMES_JOB_ID"
JOB_DB_ENV = "FLAMES_JOB_DB"
PROGRESS_INTERVAL_S = 0.5

# Runners this process launched: polled so finished ones never linger as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


def log_dir(db_path: str | Path) -> Path:
    """Where job logs go: a folder next to the workspace file."""
    path = Path(db_path).resolve()
    return path.parent / f"{path.stem}-jobs"


# A `flames ...` job runs the CLI through the progress bridge (workbench/cli/job_progress.py),
# named as a string: the pipeline layer never imports the workbench.
_FLAMES_ENTRY = "from workbench.cli.job_progress import run; run()"


def command_argv(command: str) -> list[str]:
    """The argv for a stored command line; a leading `flames` runs this interpreter's CLI."""
    argv = shlex.split(command)
    if argv and argv[0] == "flames":
        return [sys.executable, "-c", _FLAMES_ENTRY, *argv[1:]]
    return argv


def launch_job(
    db: Database, db_path: str | Path, command: str, *, kind: str, experiment_id: int | None = None
) -> int:
    """Add a job row and start its runner detached from this process; return the job id."""
    if str(db_path) == ":memory:":
        raise FlamesError("background jobs need a workspace file: pass --db PATH")
    job_id = job_rows.insert_job(db, kind=kind, command=command, experiment_id=experiment_id)
    logs = log_dir(db_path)
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"job-{job_id}.log"
    job_rows.update_job(db, job_id, log_path=str(log_path))
    runner = [
        sys.executable,
        "-m",
        "pipeline.jobs",
        "--db",
        str(Path(db_path).resolve()),
        "--job",
        str(job_id),
    ]
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(  # noqa: S603 - the argv is our own runner
            runner,
            stdin=devnull,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd=os.getcwd(),
        )
    _children[job_id] = proc
    job_rows.update_job(db, job_id, pid=proc.pid)
    return job_id


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies of our own runners are reaped first)."""
    for job_id, proc in list(_children.items()):
        if proc.pid == pid and proc.poll() is not None:
            del _children[job_id]
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale(db: Database) -> list[int]:
    """Mark 'running'/'queued' jobs whose process is gone as failed; return their ids."""
    stale: list[int] = []
    for job in job_rows.list_jobs(db, active_only=True, limit=10_000):
        if job.pid is not None and not pid_alive(job.pid):
            job_rows.finish_job(db, job.id, status="failed", exit_code=job.exit_code)
            job_rows.add_event(db, job.id, "status", "process gone: marked failed")
            stale.append(job.id)
    return stale


def cancel_job(db: Database, job_id: int) -> JobRow:
    """Stop a job: mark it cancelled, then SIGTERM its whole process group."""
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise FlamesError(f"no job {job_id}: see `flames jobs list`")
    if not job.active:
        raise FlamesError(f"job {job_id} is already {job.status}; nothing to cancel")
    job_rows.finish_job(db, job_id, status="cancelled", exit_code=None)
    if job.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.pid, signal.SIGTERM)
    return job_rows.get_job(db, job_id) or job


def resume_job(db: Database, db_path: str | Path, job_id: int) -> int:
    """Relaunch a finished job's command as a new job (stages skip finished work)."""
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise FlamesError(f"no job {job_id}: see `flames jobs list`")
    if job.active:
        raise FlamesError(f"job {job_id} is still {job.status}; cancel it first")
    new_id = launch_job(db, db_path, job.command, kind=job.kind, experiment_id=job.experiment_id)
    job_rows.add_event(db, job_id, "status", f"resumed as job {new_id}")
    return new_id


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


class ProgressReporter:
    """Writes a job's progress to its row, at most every PROGRESS_INTERVAL_S seconds."""

    def __init__(self, db_path: str, job_id: int) -> None:
        self.job_id = job_id
        self.db = open_db(db_path, migrate=False)
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None, message: str | None = None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - self._last < PROGRESS_INTERVAL_S and not finished:
            return
        self._last = now
        job_rows.set_progress(self.db, self.job_id, done, total, message)


_reporter: ProgressReporter | None = None


def report_progress(done: int, total: int | None = None, message: str | None = None) -> None:
    """Record progress for the job this process runs as; a no-op outside a job.

    CLI commands call this from their progress callbacks; it is throttled and cheap.
    """
    global _reporter
    job_id = os.environ.get(JOB_ID_ENV)
    db_path = os.environ.get(JOB_DB_ENV)
    if not job_id or not db_path:
        return
    if _reporter is None or _reporter.job_id != int(job_id):
        _reporter = ProgressReporter(db_path, int(job_id))
    _reporter(done, total, message)


def run_job(db_path: str, job_id: int) -> int:
    """The runner: run the job's command with output to its log; record how it ended."""
    db = open_db(db_path)
    job = job_rows.get_job(db, job_id)
    if job is None or job.status != "queued":
        return 2
    env = {**os.environ, JOB_ID_ENV: str(job_id), JOB_DB_ENV: db_path, "PYTHONUNBUFFERED": "1"}
    job_rows.update_job(db, job_id, status="running", started_at=True, pid=os.getpid())
    job_rows.add_event(db, job_id, "status", f"started: {job.command}")
    child: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: FrameType | None) -> None:
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log_path = job.log_path or str(log_dir(db_path) / f"job-{job_id}.log")
    with open(log_path, "ab") as log:
        log.write(f"$ {job.command}\n".encode())
        log.flush()
        try:
            child = subprocess.Popen(
                command_argv(job.command),
                stdout=log,  # noqa: S603
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:
            log.write(f"cannot start: {exc}\n".encode())
            job_rows.finish_job(db, job_id, status="failed", exit_code=127)
            return 127
        code = child.wait()
    status = "done" if code == 0 else "failed"
    job_rows.finish_job(db, job_id, status=status, exit_code=code)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the detached runner process."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.jobs.supervisor")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job", type=int, required=True)
    args = parser.parse_args(argv)
    return run_job(args.db, args.job)


STAGES = ("generate", "solve", "filter", "dedup", "decontaminate")


def stage_command(stage: str, db_path: str | Path, experiment: str) -> str:
    """The CLI command that runs one pipeline stage of an experiment (what a job runs)."""
    if stage not in STAGES:
        raise FlamesError(f"stage '{stage}' is unknown: use one of {', '.join(STAGES)}")
    return shlex.join(["flames", stage, experiment, "--db", str(db_path)])


if __name__ == "__main__":
    sys.exit(main())
