"""Queries on the `requests` table: the cache of every model call.

A row goes pending -> done, or pending -> failed (-> done on a later retry). A done
row is never overwritten, so a response once stored is the one every rerun reads.
`attempts` counts finished tries over all runs (done or failed), not sends cut short by a
kill. A reply longer than the cap is stored cut, with `cut_reason` saying so.

Writes wait for a locked workspace and try again (`storage.database.retry_locked`): a
busy writer elsewhere delays an answer's row, it never turns it into a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from storage.database import retry_locked, transaction

CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


@dataclass(frozen=True)
class RequestRow:
    """The stored state of one request key."""

    key: str
    status: str
    response: str | None
    finish_reason: str | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class NewRequest:
    """A request about to be sent: what the pending row records."""

    key: str
    model: str
    params_json: str
    sample_index: int
    prompt: str


@dataclass(frozen=True)
class Outcome:
    """A finished try: a response (done) or an error (failed)."""

    key: str
    model: str
    params_json: str
    sample_index: int
    prompt: str
    response: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    cut_reason: str | None = None


def fetch_states(db: Database, keys: Iterable[str]) -> dict[str, RequestRow]:
    """The stored rows for `keys` (missing keys are absent), looked up in bulk."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, RequestRow] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = db.conn.execute(
            "SELECT key, status, response, finish_reason, attempts, error FROM requests "
            f"WHERE key IN ({marks})",
            chunk,
        )
        for key, status, response, finish_reason, attempts, error in rows:
            found[key] = RequestRow(key, status, response, finish_reason, attempts, error)
    return found


def insert_pending(db: Database, requests: Sequence[NewRequest]) -> None:
    """Record requests about to be sent (one transaction); existing rows are left as they are."""
    if not requests:
        return
    with transaction(db):
        db.conn.executemany(
            "INSERT OR IGNORE INTO requests (key, model, params_json, sample_index, prompt, status) "
            "VALUES (?, ?, ?, ?, ?, 'pending')",
            [(r.key, r.model, r.params_json, r.sample_index, r.prompt) for r in requests],
        )


_UPSERT = """
INSERT INTO requests (key, model, params_json, sample_index, prompt, status, response,
                      finish_reason, prompt_tokens, completion_tokens, latency_s, attempts,
                      error, cut_reason, completed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))
ON CONFLICT (key) DO UPDATE SET
    status = excluded.status, response = excluded.response,
    finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens,
    completion_tokens = excluded.completion_tokens, latency_s = excluded.latency_s,
    attempts = requests.attempts + 1, error = excluded.error,
    cut_reason = excluded.cut_reason, completed_at = excluded.completed_at
WHERE requests.status != 'done'
"""


def write_outcomes(db: Database, outcomes: Sequence[Outcome]) -> None:
    """Store finished tries in one small transaction; a done row is never overwritten."""
    if not outcomes:
        return
    rows = [
        (
            o.key,
            o.model,
            o.params_json,
            o.sample_index,
            o.prompt,
            "failed" if o.error is not None else "done",
            o.response,
            o.finish_reason,
            o.prompt_tokens,
            o.completion_tokens,
            o.latency_s,
            o.error,
            o.cut_reason,
        )
        for o in outcomes
    ]
    if len(rows) == 1 and not db.conn.in_transaction:
        # One statement: its own transaction, one round trip; all or nothing, so a retry
        # after "database is locked" is safe.
        retry_locked(lambda: db.conn.execute(_UPSERT, rows[0]))
        return
    with transaction(db):
        db.conn.executemany(_UPSERT, rows)


def count_by_status(db: Database, model: str | None = None) -> dict[str, int]:
    """How many rows are pending, done and failed (for one model, or all)."""
    counts = {"pending": 0, "done": 0, "failed": 0}
    if model is None:
        rows = db.conn.execute("SELECT status, count(*) FROM requests GROUP BY status")
    else:
        rows = db.conn.execute(
            "SELECT status, count(*) FROM requests WHERE model = ? GROUP BY status", (model,)
        )
    for status, n in rows:
        counts[status] = n
    return counts


def token_totals(db: Database, model: str | None = None) -> tuple[int, int]:
    """(prompt tokens, completion tokens) summed over done rows."""
    sql = (
        "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0) "
        "FROM requests WHERE status = 'done'"
    )
    args: tuple[str, ...] = ()
    if model is not None:
        sql += " AND model = ?"
        args = (model,)
    prompt, completion = db.conn.execute(sql, args).fetchone()
    return int(prompt), int(completion)
