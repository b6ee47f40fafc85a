"""Rows of `jobs`, `job_events` and `stage_locks`: background processes and what they report.

Only SQL lives here; launching and signalling processes is `pipeline.jobs` (and the
runner in `workbench.jobs`). A row that names a process keeps its start time too, so a
reused pid is never taken for the job's process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from sqlite_utils import Database

from storage.database import transaction

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
ACTIVE = ("queued", "running")
# The exit code of a command that finished its work but left some of it failed
# (requests given up, problems that failed): the job is "done with N failures".
EXIT_WITH_FAILURES = 3


@dataclass(frozen=True)
class JobRow:
    """One background job as stored."""

    id: int
    kind: str
    experiment_id: int | None
    command: str
    status: str
    pid: int | None  # the runner process (its own process group)
    pid_started: float | None
    child_pid: int | None  # the command the runner runs
    child_started: float | None
    progress_done: int
    progress_total: int | None
    progress_detail: str | None
    failures: int
    log_path: str | None
    exit_code: int | None
    created_at: str
    started_at: str | None
    ended_at: str | None

    @property
    def active(self) -> bool:
        """Queued or running: not finished one way or another."""
        return self.status in ACTIVE

    @property
    def status_text(self) -> str:
        """The status in words: "done with 3 failures" for a job that left failures."""
        if self.status == "done" and (self.failures or self.exit_code == EXIT_WITH_FAILURES):
            if self.failures:
                return f"done with {self.failures} failure{'s' if self.failures != 1 else ''}"
            return "done with failures"
        return self.status


_FIELDS = [f.name for f in fields(JobRow)]
_COLUMNS = ", ".join(_FIELDS)


def _row(values: tuple[Any, ...]) -> JobRow:
    return JobRow(**dict(zip(_FIELDS, values, strict=True)))


def insert_job(
    db: Database,
    *,
    kind: str,
    command: str,
    experiment_id: int | None = None,
    log_path: str | None = None,
) -> int:
    """Add a queued job and return its id."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO jobs (kind, experiment_id, command, status, log_path) "
            "VALUES (?, ?, ?, 'queued', ?)",
            [kind, experiment_id, command, log_path],
        )
        job_id = int(cursor.lastrowid or 0)
    return job_id


def get_job(db: Database, job_id: int) -> JobRow | None:
    """The job with this id, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", [job_id]).fetchone()
    return _row(row) if row else None


def list_jobs(
    db: Database,
    *,
    limit: int = 200,
    active_only: bool = False,
    experiment_id: int | None = None,
) -> list[JobRow]:
    """Newest jobs first (only active ones, or one experiment's, when asked)."""
    where: list[str] = []
    args: list[Any] = []
    if active_only:
        where.append("status IN ('queued', 'running')")
    if experiment_id is not None:
        where.append("experiment_id = ?")
        args.append(experiment_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM jobs {clause} ORDER BY id DESC LIMIT ?", [*args, limit]
    ).fetchall()
    return [_row(r) for r in rows]


def update_job(db: Database, job_id: int, **values: Any) -> None:
    """Set the given columns; `started_at=True` / `ended_at=True` stamp the current time."""
    sets: list[str] = []
    args: list[Any] = []
    for name, value in values.items():
        if name not in _FIELDS:
            raise ValueError(f"jobs has no column {name}")
        if name in ("started_at", "ended_at") and value is True:
            sets.append(f"{name} = {NOW}")
        else:
            sets.append(f"{name} = ?")
            args.append(value)
    if not sets:
        return
    with transaction(db):
        db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*args, job_id])


def start_job(db: Database, job_id: int, *, pid: int, pid_started: float) -> bool:
    """Mark a queued job running in the runner `pid`; False if it is no longer queued."""
    with transaction(db):
        cursor = db.execute(
            f"UPDATE jobs SET status = 'running', started_at = {NOW}, pid = ?, pid_started = ? "
            "WHERE id = ? AND status = 'queued'",
            [pid, pid_started, job_id],
        )
    return cursor.rowcount > 0


def finish_job(
    db: Database,
    job_id: int,
    *,
    status: str,
    exit_code: int | None,
    message: str | None = None,
) -> bool:
    """Mark a job finished unless it already is (a cancel is never overwritten); True if so."""
    with transaction(db):
        cursor = db.execute(
            f"UPDATE jobs SET status = ?, exit_code = ?, ended_at = {NOW} "
            "WHERE id = ? AND status IN ('queued', 'running')",
            [status, exit_code, job_id],
        )
        changed = cursor.rowcount > 0
        if changed:
            text = message or f"{status} (exit code {exit_code})"
            db.execute(
                "INSERT INTO job_events (job_id, kind, message) VALUES (?, 'status', ?)",
                [job_id, text],
            )
    return changed


def add_event(
    db: Database,
    job_id: int,
    kind: str,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one event (progress, log, status) to a job."""
    with transaction(db):
        db.execute(
            "INSERT INTO job_events (job_id, kind, message, data_json) VALUES (?, ?, ?, ?)",
            [job_id, kind, message, json.dumps(data) if data is not None else None],
        )


def set_progress(
    db: Database,
    job_id: int,
    done: int,
    total: int | None,
    detail: str | None = None,
    *,
    failures: int | None = None,
    event: bool = False,
) -> None:
    """Record progress on the row (and, with `event`, in the job's history), one transaction."""
    with transaction(db):
        db.execute(
            "UPDATE jobs SET progress_done = ?, progress_total = ?, progress_detail = ?, "
            "failures = COALESCE(?, failures) WHERE id = ?",
            [done, total, detail, failures, job_id],
        )
        if event:
            db.execute(
                "INSERT INTO job_events (job_id, kind, message, data_json) "
                "VALUES (?, 'progress', ?, ?)",
                [job_id, detail, json.dumps({"done": done, "total": total})],
            )


def list_events(
    db: Database, job_id: int, *, after_id: int = 0, limit: int = 500
) -> list[tuple[int, str, str, str | None]]:
    """Events of a job after `after_id`: (id, ts, kind, message)."""
    rows = db.execute(
        "SELECT id, ts, kind, message FROM job_events WHERE job_id = ? AND id > ? "
        "ORDER BY id LIMIT ?",
        [job_id, after_id, limit],
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


@dataclass(frozen=True)
class LockRow:
    """A stage running right now, held by one process."""

    name: str
    pid: int
    pid_started: float
    job_id: int | None
    command: str | None


def get_lock(db: Database, name: str) -> LockRow | None:
    """The holder of lock `name`, or None (read inside the caller's transaction)."""
    row = db.execute(
        "SELECT name, pid, pid_started, job_id, command FROM stage_locks WHERE name = ?", [name]
    ).fetchone()
    return LockRow(*row) if row else None


def put_lock(db: Database, lock: LockRow) -> None:
    """Record `lock` as held (replacing a dead holder's row)."""
    db.execute(
        "INSERT OR REPLACE INTO stage_locks (name, pid, pid_started, job_id, command) "
        "VALUES (?, ?, ?, ?, ?)",
        [lock.name, lock.pid, lock.pid_started, lock.job_id, lock.command],
    )


def drop_lock(db: Database, name: str, pid: int, pid_started: float) -> None:
    """Release lock `name` if this process still holds it."""
    with transaction(db):
        db.execute(
            "DELETE FROM stage_locks WHERE name = ? AND pid = ? AND pid_started = ?",
            [name, pid, pid_started],
        )
