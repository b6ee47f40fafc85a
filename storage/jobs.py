"""Rows of the `jobs` and `job_events` tables: background processes and what they report.

Only SQL lives here; launching and signalling processes is `pipeline.jobs.supervisor`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.database import transaction

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobRow:
    """One background job as stored."""

    id: int
    kind: str
    experiment_id: int | None
    command: str
    status: str
    pid: int | None
    progress_done: int
    progress_total: int | None
    log_path: str | None
    exit_code: int | None
    created_at: str
    started_at: str | None
    ended_at: str | None

    @property
    def active(self) -> bool:
        """Queued or running: not finished one way or another."""
        return self.status in ACTIVE


_COLUMNS = (
    "id, kind, experiment_id, command, status, pid, progress_done, progress_total, "
    "log_path, exit_code, created_at, started_at, ended_at"
)


def _row(values: tuple[Any, ...]) -> JobRow:
    return JobRow(*values)


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


def list_jobs(db: Database, *, limit: int = 200, active_only: bool = False) -> list[JobRow]:
    """Newest jobs first."""
    where = "WHERE status IN ('queued', 'running')" if active_only else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    return [_row(r) for r in rows]


def update_job(db: Database, job_id: int, **fields: Any) -> None:
    """Set the given columns; `started_at=True` / `ended_at=True` stamp the current time."""
    sets: list[str] = []
    values: list[Any] = []
    for name, value in fields.items():
        if name in ("started_at", "ended_at") and value is True:
            sets.append(f"{name} = {NOW}")
        else:
            sets.append(f"{name} = ?")
            values.append(value)
    if not sets:
        return
    with transaction(db):
        db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*values, job_id])


def finish_job(db: Database, job_id: int, *, status: str, exit_code: int | None) -> bool:
    """Mark a job finished unless it already is (a cancel is never overwritten); True if so."""
    with transaction(db):
        cursor = db.execute(
            f"UPDATE jobs SET status = ?, exit_code = ?, ended_at = {NOW} "
            "WHERE id = ? AND status IN ('queued', 'running')",
            [status, exit_code, job_id],
        )
        changed = cursor.rowcount > 0
        if changed:
            db.execute(
                "INSERT INTO job_events (job_id, kind, message) VALUES (?, 'status', ?)",
                [job_id, f"{status} (exit code {exit_code})"],
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
    db: Database, job_id: int, done: int, total: int | None, message: str | None = None
) -> None:
    """Record progress on the row and as an event, in one transaction."""
    with transaction(db):
        db.execute(
            "UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?",
            [done, total, job_id],
        )
        db.execute(
            "INSERT INTO job_events (job_id, kind, message, data_json) "
            "VALUES (?, 'progress', ?, ?)",
            [job_id, message, json.dumps({"done": done, "total": total})],
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
