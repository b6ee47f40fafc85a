"""Stage locks: one run of a stage per experiment (or seed set) at a time.

A second `flames generate EXP` while one runs (a job resumed twice, a terminal and the TUI)
would send every prompt twice. The lock is a row naming the holder process and its start
time; a holder that is gone (killed, rebooted) no longer counts, so a crash never leaves a
stage locked for good.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.jobs import JOB_ID_ENV
from pipeline.jobs.processes import current, is_running
from storage import jobs as job_rows
from storage.database import transaction

_held: dict[str, int] = {}  # lock names this process holds -> nesting depth


@contextmanager
def stage_lock(
    db: Database, stage: str, scope: str, *, command: str | None = None
) -> Iterator[None]:
    """Hold lock `stage` on `scope` ("experiment 3", "seed set gsm8k") while the body runs.

    Raises FlamesError naming the holder (pid, job) when another live process holds it.
    The same process may take a lock it holds again (a run calling a stage).
    """
    name = f"{stage} on {scope}"
    if name in _held:
        _held[name] += 1
        try:
            yield
        finally:
            _held[name] -= 1
        return
    me = current()
    job = os.environ.get(JOB_ID_ENV)
    with transaction(db):
        holder = job_rows.get_lock(db, name)
        if holder is not None and is_running(holder.pid, holder.pid_started):
            by = f"job {holder.job_id}, " if holder.job_id is not None else ""
            cancel = (
                f"cancel it with `flames jobs cancel {holder.job_id}`"
                if holder.job_id is not None
                else f"stop process {holder.pid}"
            )
            raise FlamesError(
                f"{stage} is already running on {scope} ({by}pid {holder.pid}); "
                f"wait for it to end or {cancel}"
            )
        job_rows.put_lock(
            db,
            job_rows.LockRow(
                name, me.pid, me.started, int(job) if job and job.isdigit() else None, command
            ),
        )
    _held[name] = 1
    try:
        yield
    finally:
        del _held[name]
        job_rows.drop_lock(db, name, me.pid, me.started)
