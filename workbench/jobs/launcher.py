"""Launching a command as a job: a `jobs` row and a detached runner process.

Any `flames ...` command can run as a job (the kind is its command name); the TUI and
`flames jobs start` both come here. The runner lives in its own session, so closing the
TUI or dropping SSH never stops it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.jobs.control import log_dir, runner_alive
from pipeline.jobs.processes import identity_of
from storage import jobs as job_rows

# Runners this process launched: polled so finished ones never linger as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}

STAGES = ("generate", "solve", "filter", "dedup", "decontaminate")
_VALUED = {"--db"}  # options every command takes that carry a value


def command_argv(command: str) -> list[str]:
    """The argv for a stored command line; a leading `flames` runs this interpreter's CLI."""
    argv = shlex.split(command)
    if argv and argv[0] == "flames":
        return [sys.executable, "-m", "workbench.cli", *argv[1:]]
    return argv


def kind_of(command: str) -> str:
    """A job's kind from its command: `flames eval ...` -> "eval", else the program name."""
    argv = shlex.split(command)
    if not argv:
        raise FlamesError("a job needs a command")
    if argv[0] == "flames":
        rest = iter(argv[1:])
        for word in rest:
            if word in _VALUED:
                next(rest, None)  # an option's value is not the command
            elif not word.startswith("-"):
                return word
        return "flames"
    return Path(argv[0]).name


def stage_command(stage: str, db_path: str | Path, experiment: str) -> str:
    """The CLI command that runs one pipeline stage of an experiment (what a job runs)."""
    if stage not in STAGES:
        raise FlamesError(f"stage '{stage}' is unknown: use one of {', '.join(STAGES)}")
    return shlex.join(["flames", stage, experiment, "--db", str(db_path)])


def _reap_children() -> None:
    for job_id, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[job_id]


def launch_job(
    db: Database,
    db_path: str | Path,
    command: str,
    *,
    kind: str | None = None,
    experiment_id: int | None = None,
) -> int:
    """Add a job row and start its runner detached from this process; return the job id.

    Refuses a command identical to a job still running (resuming twice would run it twice).
    """
    if str(db_path) == ":memory:":
        raise FlamesError("background jobs need a workspace file: pass --db PATH")
    _reap_children()
    for job in job_rows.list_jobs(db, active_only=True, limit=10_000):
        if job.command == command and (job.pid is None or runner_alive(job)):
            raise FlamesError(
                f"job {job.id} already runs `{command}`; follow it with "
                f"`flames jobs log -f {job.id}` or cancel it first"
            )
    job_id = job_rows.insert_job(
        db, kind=kind or kind_of(command), command=command, experiment_id=experiment_id
    )
    logs = log_dir(db_path)
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"job-{job_id}.log"
    job_rows.update_job(db, job_id, log_path=str(log_path))
    runner = [
        sys.executable,
        "-m",
        "workbench.jobs.runner",
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
    identity = identity_of(proc.pid)
    if identity is not None:
        job_rows.update_job(db, job_id, pid=identity.pid, pid_started=identity.started)
    return job_id


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
