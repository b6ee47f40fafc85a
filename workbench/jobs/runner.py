"""The detached runner of one job: `python -m workbench.jobs.runner --db DB --job ID`.

It runs the job's command with its output in the job's log and records how it ended:
exit 0 is done, exit 3 (`EXIT_WITH_FAILURES`) is "done with N failures", anything else
failed. The command cannot outlive its runner: on Linux the kernel sends it SIGTERM when
the runner dies (even by SIGKILL), and everywhere the command watches its runner
($FLAMES_JOB_RUNNER, see `workbench.cli.job_progress`) and stops when it is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from pipeline.jobs import EXIT_WITH_FAILURES, JOB_DB_ENV, JOB_ID_ENV, JOB_RUNNER_ENV
from pipeline.jobs.control import log_dir
from pipeline.jobs.processes import current, die_with_parent, identity_of
from storage import jobs as job_rows
from storage.database import open_db
from workbench.jobs.launcher import command_argv


def _status(code: int) -> str:
    return "done" if code in (0, EXIT_WITH_FAILURES) else "failed"


def run_job(db_path: str, job_id: int) -> int:
    """Run job `job_id`'s command to its end; return its exit code (2: not a queued job)."""
    db = open_db(db_path)
    job = job_rows.get_job(db, job_id)
    me = current()
    if job is None or not job_rows.start_job(db, job_id, pid=me.pid, pid_started=me.started):
        return 2
    env = {
        **os.environ,
        JOB_ID_ENV: str(job_id),
        JOB_DB_ENV: db_path,
        JOB_RUNNER_ENV: me.encode(),
        "PYTHONUNBUFFERED": "1",
    }
    job_rows.add_event(db, job_id, "status", f"started: {job.command}")
    child: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: FrameType | None) -> None:
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log_path = job.log_path or str(log_dir(db_path) / f"job-{job_id}.log")
    with open(log_path, "ab") as log:
        log.write(f"$ {job.command}\n".encode())
        log.flush()
        try:
            child = subprocess.Popen(  # noqa: S603 - the job's own command
                command_argv(job.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - the runner has no threads
            )
        except OSError as exc:
            log.write(f"cannot start: {exc}\n".encode())
            job_rows.finish_job(db, job_id, status="failed", exit_code=127)
            return 127
        started = identity_of(child.pid)
        if started is not None:
            job_rows.update_job(db, job_id, child_pid=started.pid, child_started=started.started)
        code = child.wait()
    job_rows.finish_job(db, job_id, status=_status(code), exit_code=code)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the detached runner process."""
    parser = argparse.ArgumentParser(prog="python -m workbench.jobs.runner")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job", type=int, required=True)
    args = parser.parse_args(argv)
    return run_job(args.db, args.job)


if __name__ == "__main__":
    sys.exit(main())
