"""Queries on student traces, their steps and Monte-Carlo rollouts (migration 0007).

A trace set is one sampling of a student model over problems (or one input file of traces);
its traces carry the binary reward; per-step DPO adds the trace's steps with their values
and the rollouts behind them. The TUI reads a trace through `trace_detail`: its steps with
Q, the critical step, and every rollout with its text (joined from `requests`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from storage.database import transaction

CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True)
class TraceSet:
    """One sampling of a student over problems, or the traces of one file."""

    id: int
    key: str
    experiment_id: int | None
    arm: str | None
    model: str | None
    params_json: str
    source: str | None


@dataclass(frozen=True)
class NewTrace:
    """A trace about to be stored (grading fields may come later)."""

    item: str
    sample_index: int
    text: str
    problem_id: int | None = None
    question: str | None = None
    request_key: str | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class TraceGrade:
    """The binary reward of one trace against its reference answer."""

    trace_id: int
    extracted_answer: str | None
    extract_rule: str | None
    reference: str | None
    reference_source: str | None
    verdict: str
    label: int | None


@dataclass(frozen=True)
class TraceRow:
    """A stored trace with its reward and per-step DPO summary."""

    id: int
    set_id: int
    problem_id: int | None
    item: str
    question: str | None
    sample_index: int
    request_key: str | None
    text: str
    finish_reason: str | None
    extracted_answer: str | None
    reference: str | None
    reference_source: str | None
    verdict: str | None
    label: int | None
    split: str | None
    n_steps: int | None
    q0: int | None
    success0: float | None
    critical_step: int | None
    rollout_status: str | None


@dataclass(frozen=True)
class StepRow:
    """One step of a trace: `text == trace.text[start:end]`, and the value after it."""

    step: int
    start: int
    end: int
    text: str
    q: int | None = None
    success_rate: float | None = None


@dataclass(frozen=True)
class RolloutRow:
    """One Monte-Carlo continuation of a trace prefix (`prefix` steps kept)."""

    trace_id: int
    prefix: int
    k: int
    request_key: str
    finish_reason: str | None
    extracted_answer: str | None
    verdict: str | None
    label: int | None
    text: str | None = None  # the continuation, joined from `requests` on read


@dataclass(frozen=True)
class TraceDetail:
    """Everything the per-step DPO inspector shows for one trace."""

    trace: TraceRow
    steps: list[StepRow]
    rollouts: list[RolloutRow]

    def advantages(self) -> list[int | None]:
        """A(i) = Q(i) - Q(i-1) for steps 1..L (None where either value is unknown)."""
        values = [self.trace.q0, *(s.q for s in self.steps)]
        return [
            None if a is None or b is None else b - a
            for a, b in zip(values, values[1:], strict=False)
        ]


_TRACE_COLUMNS = (
    "id, set_id, problem_id, item, question, sample_index, request_key, text, finish_reason, "
    "extracted_answer, reference, reference_source, verdict, label, split, n_steps, q0, "
    "success0, critical_step, rollout_status"
)


def _trace(row: Sequence[object]) -> TraceRow:
    return TraceRow(*row)  # type: ignore[arg-type]


def ensure_trace_set(
    db: Database,
    key: str,
    *,
    experiment_id: int | None,
    arm: str | None,
    model: str | None,
    params_json: str,
    source: str | None = None,
) -> TraceSet:
    """The trace set with this identity key, created on first use."""
    with transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO trace_sets (key, experiment_id, arm, model, params_json, source)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [key, experiment_id, arm, model, params_json, source],
        )
    found = trace_set_by_key(db, key)
    assert found is not None
    return found


def trace_set_by_key(db: Database, key: str) -> TraceSet | None:
    row = db.execute(
        "SELECT id, key, experiment_id, arm, model, params_json, source FROM trace_sets "
        "WHERE key = ?",
        [key],
    ).fetchone()
    return TraceSet(*row) if row else None


def trace_sets(db: Database, experiment_id: int | None = None) -> list[TraceSet]:
    """Every trace set (of one experiment when given), newest first."""
    sql = "SELECT id, key, experiment_id, arm, model, params_json, source FROM trace_sets"
    args: list[object] = []
    if experiment_id is not None:
        sql += " WHERE experiment_id = ?"
        args.append(experiment_id)
    return [TraceSet(*row) for row in db.execute(sql + " ORDER BY id DESC", args).fetchall()]


def stored_samples(db: Database, set_id: int, items: Sequence[str]) -> dict[str, set[int]]:
    """item -> sample indices already stored in the set."""
    found: dict[str, set[int]] = {}
    for start in range(0, len(items), CHUNK):
        chunk = list(items[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        for item, sample in db.execute(
            f"SELECT item, sample_index FROM traces WHERE set_id = ? AND item IN ({marks})",
            [set_id, *chunk],
        ):
            found.setdefault(str(item), set()).add(int(sample))
    return found


def insert_traces(db: Database, set_id: int, traces: Iterable[NewTrace]) -> int:
    """Store new traces (an existing (item, sample) is left as it is); returns how many."""
    rows = [
        (
            set_id,
            t.problem_id,
            t.item,
            t.question,
            t.sample_index,
            t.request_key,
            t.text,
            t.finish_reason,
        )
        for t in traces
    ]
    with transaction(db):
        cursor = db.conn.executemany(
            "INSERT OR IGNORE INTO traces (set_id, problem_id, item, question, sample_index, "
            "request_key, text, finish_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return max(cursor.rowcount, 0)


def save_grades(db: Database, grades: Iterable[TraceGrade]) -> None:
    """Store each trace's extracted answer, reference and reward."""
    rows = [
        (
            g.extracted_answer,
            g.extract_rule,
            g.reference,
            g.reference_source,
            g.verdict,
            g.label,
            g.trace_id,
        )
        for g in grades
    ]
    with transaction(db):
        db.conn.executemany(
            "UPDATE traces SET extracted_answer = ?, extract_rule = ?, reference = ?, "
            "reference_source = ?, verdict = ?, label = ? WHERE id = ?",
            rows,
        )


def set_traces(
    db: Database,
    set_id: int,
    *,
    label: int | None = None,
    graded: bool = False,
    items: Sequence[str] | None = None,
) -> list[TraceRow]:
    """The traces of a set by item and sample index (filtered by label, grading, items)."""
    sql = f"SELECT {_TRACE_COLUMNS} FROM traces WHERE set_id = ?"
    args: list[object] = [set_id]
    if label is not None:
        sql += " AND label = ?"
        args.append(label)
    if graded:
        sql += " AND verdict IS NOT NULL"
    order = " ORDER BY problem_id, item, sample_index"
    if items is None:
        return [_trace(row) for row in db.execute(sql + order, args).fetchall()]
    found: list[TraceRow] = []
    for start in range(0, len(items), CHUNK):
        chunk = list(items[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        found += [
            _trace(row)
            for row in db.execute(f"{sql} AND item IN ({marks}){order}", [*args, *chunk])
        ]
    return found


def trace_by_id(db: Database, trace_id: int) -> TraceRow | None:
    row = db.execute(f"SELECT {_TRACE_COLUMNS} FROM traces WHERE id = ?", [trace_id]).fetchone()
    return _trace(row) if row else None


def save_steps(db: Database, trace_id: int, split: str, steps: Sequence[StepRow]) -> None:
    """Replace a trace's steps (values reset) when its split changed; no-op when the same."""
    current = [
        (int(r[0]), int(r[1]))
        for r in db.execute(
            "SELECT start, end FROM steps WHERE trace_id = ? ORDER BY step", [trace_id]
        )
    ]
    if current == [(s.start, s.end) for s in steps]:
        return
    with transaction(db):
        db.execute("DELETE FROM steps WHERE trace_id = ?", [trace_id])
        db.execute("DELETE FROM rollouts WHERE trace_id = ?", [trace_id])
        db.conn.executemany(
            "INSERT INTO steps (trace_id, step, start, end, text) VALUES (?, ?, ?, ?, ?)",
            [(trace_id, s.step, s.start, s.end, s.text) for s in steps],
        )
        db.execute(
            "UPDATE traces SET split = ?, n_steps = ?, q0 = NULL, success0 = NULL, "
            "critical_step = NULL, rollout_status = 'pending' WHERE id = ?",
            [split, len(steps), trace_id],
        )


def save_rollouts(db: Database, rollouts: Iterable[RolloutRow]) -> None:
    """Store (or replace) rollouts by (trace, prefix, k)."""
    rows = [
        (
            r.trace_id,
            r.prefix,
            r.k,
            r.request_key,
            r.finish_reason,
            r.extracted_answer,
            r.verdict,
            r.label,
        )
        for r in rollouts
    ]
    with transaction(db):
        db.conn.executemany(
            "INSERT OR REPLACE INTO rollouts (trace_id, prefix, k, request_key, finish_reason, "
            "extracted_answer, verdict, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


@dataclass(frozen=True)
class TraceValues:
    """Per-prefix values of one trace: `q[i]`, `success[i]` for prefixes 0..len-1."""

    trace_id: int
    q: Sequence[int]
    success: Sequence[float]
    critical_step: int | None
    status: str
    model: str


def save_values(db: Database, values: Iterable[TraceValues]) -> None:
    """Store Q and success rates (prefix 0 on the trace, prefix i on step i) and the pit."""
    with transaction(db):
        for v in values:
            db.execute(
                "UPDATE traces SET q0 = ?, success0 = ?, critical_step = ?, rollout_status = ?, "
                "rollout_model = ? WHERE id = ?",
                [
                    v.q[0] if v.q else None,
                    v.success[0] if v.success else None,
                    v.critical_step,
                    v.status,
                    v.model,
                    v.trace_id,
                ],
            )
            db.execute(
                "UPDATE steps SET q = NULL, success_rate = NULL WHERE trace_id = ?", [v.trace_id]
            )
            db.conn.executemany(
                "UPDATE steps SET q = ?, success_rate = ? WHERE trace_id = ? AND step = ?",
                [
                    (q, rate, v.trace_id, step)
                    for step, (q, rate) in enumerate(zip(v.q, v.success, strict=True))
                    if step > 0
                ],
            )


def trace_steps(db: Database, trace_id: int) -> list[StepRow]:
    return [
        StepRow(*row)
        for row in db.execute(
            "SELECT step, start, end, text, q, success_rate FROM steps WHERE trace_id = ? "
            "ORDER BY step",
            [trace_id],
        )
    ]


def trace_rollouts(db: Database, trace_id: int, prefix: int | None = None) -> list[RolloutRow]:
    """A trace's rollouts (of one prefix when given) with their continuation texts."""
    sql = (
        "SELECT r.trace_id, r.prefix, r.k, r.request_key, r.finish_reason, r.extracted_answer, "
        "r.verdict, r.label, q.response FROM rollouts r "
        "LEFT JOIN requests q ON q.key = r.request_key WHERE r.trace_id = ?"
    )
    args: list[object] = [trace_id]
    if prefix is not None:
        sql += " AND r.prefix = ?"
        args.append(prefix)
    return [RolloutRow(*row) for row in db.execute(sql + " ORDER BY r.prefix, r.k", args)]


def trace_detail(db: Database, trace_id: int) -> TraceDetail | None:
    """A trace, its steps with values, and its rollouts (for the per-step DPO inspector)."""
    trace = trace_by_id(db, trace_id)
    if trace is None:
        return None
    return TraceDetail(trace, trace_steps(db, trace_id), trace_rollouts(db, trace_id))


def rolled_out_traces(
    db: Database, set_id: int, *, status: str | None = None, limit: int = 200, offset: int = 0
) -> list[TraceRow]:
    """A page of the set's rolled-out traces (optionally of one status), for browsing."""
    sql = f"SELECT {_TRACE_COLUMNS} FROM traces WHERE set_id = ? AND rollout_status IS NOT NULL"
    args: list[object] = [set_id]
    if status is not None:
        sql += " AND rollout_status = ?"
        args.append(status)
    sql += " ORDER BY id LIMIT ? OFFSET ?"
    return [_trace(row) for row in db.execute(sql, [*args, limit, offset])]


def critical_step_histogram(db: Database, set_id: int) -> list[tuple[int, int]]:
    """(critical step, traces) over the set's traces with a pit, by step."""
    return [
        (int(step), int(count))
        for step, count in db.execute(
            "SELECT critical_step, COUNT(*) FROM traces WHERE set_id = ? AND "
            "critical_step IS NOT NULL GROUP BY critical_step ORDER BY critical_step",
            [set_id],
        )
    ]


def rollout_status_counts(db: Database, set_id: int) -> dict[str, int]:
    """rollout_status -> traces (pending, skipped, pit, no_pit, no_steps)."""
    return {
        str(status): int(count)
        for status, count in db.execute(
            "SELECT rollout_status, COUNT(*) FROM traces WHERE set_id = ? AND "
            "rollout_status IS NOT NULL GROUP BY rollout_status",
            [set_id],
        )
    }
