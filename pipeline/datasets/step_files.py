"""`flames pairs step-dpo` on files: incorrect traces in, per-step DPO pairs out.

Input lines: `{"id", "question", "answer", "response"}` (response = an incorrect trace;
optional `chosen`, a known correct solution). Output lines, in input order:
`{"id", "steps", "q", "critical_step", "prompt", "chosen", "rejected"}` with
`critical_step` 1-based (null when the trace has none: skipped because Q(0) = 0, or no
prefix fell to 0) and prompt/chosen/rejected null when no pair was made. `q` holds Q(i) for
the prefixes that were rolled out, i = 0, 1, ...

The traces are stored in the workspace as a trace set keyed by the file's bytes, so the TUI
shows them like any other, and every rollout is a cached request: the same command again
after a kill re-sends nothing that finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.answers.verification import Verifier
from pipeline.datasets.rewards import file_reference, grade
from pipeline.datasets.rollouts import NegativeTrace, RolloutPlan, estimate_values
from pipeline.datasets.step_pairs import build_pair, check_variant
from pipeline.errors import InputError
from pipeline.jsonl import JsonlWriter, iter_jsonl
from pipeline.llm.backend import Backend
from pipeline.progress import Reporter, ignore
from storage.traces import (
    NewTrace,
    TraceGrade,
    ensure_trace_set,
    insert_traces,
    save_grades,
    set_traces,
)

REQUIRED = ("id", "question", "answer", "response")


@dataclass(frozen=True)
class FileTrace:
    """One input line."""

    line: int
    id: Any  # as given (string or number), echoed in the output
    question: str
    answer: str
    response: str
    chosen: str | None = None


@dataclass
class FileReport:
    """What `step_dpo_file` did."""

    lines: int = 0
    pairs: int = 0
    requests: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    set_id: int = 0


def read_trace_file(path: str | Path) -> list[FileTrace]:
    """Every line of a traces file, checked (errors name file, line and field)."""
    traces: list[FileTrace] = []
    seen: dict[str, int] = {}
    for line, row in iter_jsonl(path):
        for name in REQUIRED:
            if name not in row or row[name] is None:
                raise InputError(
                    f"missing; each line needs {', '.join(REQUIRED)}",
                    path=str(path),
                    line=line,
                    field=name,
                )
        if not isinstance(row["id"], str | int) or isinstance(row["id"], bool):
            raise InputError(
                "expected a string or an integer", path=str(path), line=line, field="id"
            )
        for name in ("question", "answer", "response"):
            if not isinstance(row[name], str | int | float) or isinstance(row[name], bool):
                raise InputError("expected text", path=str(path), line=line, field=name)
        if not str(row["question"]).strip():
            raise InputError("is empty", path=str(path), line=line, field="question")
        chosen = row.get("chosen")
        if chosen is not None and not isinstance(chosen, str):
            raise InputError("expected text", path=str(path), line=line, field="chosen")
        key = str(row["id"])
        if key in seen:
            raise InputError(
                f"id {key!r} repeats line {seen[key]}; give every line its own id",
                path=str(path),
                line=line,
                field="id",
            )
        seen[key] = line
        traces.append(
            FileTrace(
                line,
                row["id"],
                str(row["question"]),
                str(row["answer"]),
                str(row["response"]),
                chosen,
            )
        )
    if not traces:
        raise InputError("no traces in the file", path=str(path))
    return traces


def check_out_file(path: str | Path) -> None:
    """Fail before any model work when the output cannot be written."""
    out = Path(path)
    if out.is_dir():
        raise InputError("is a folder; give a file name for --out", path=str(out))
    if not out.parent.is_dir():
        raise InputError(f"folder {out.parent} does not exist", path=str(out))


def step_dpo_file(
    db: Database,
    backend: Backend,
    in_path: str | Path,
    out_path: str | Path,
    plan: RolloutPlan,
    *,
    variant: str = "default",
    prefer_given: bool = False,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> FileReport:
    """Value every trace of `in_path`, build its pair, write `out_path` (atomically)."""
    check_variant(variant)
    lines = read_trace_file(in_path)
    check_out_file(out_path)
    digest = hashlib.sha256(Path(in_path).read_bytes()).hexdigest()
    trace_set = ensure_trace_set(
        db,
        f"file:{digest}",
        experiment_id=None,
        arm=None,
        model=None,
        params_json="{}",
        source=str(Path(in_path).resolve()),
    )
    insert_traces(
        db,
        trace_set.id,
        [NewTrace(str(t.id), 0, t.response, question=t.question) for t in lines],
    )
    rows = {row.item: row for row in set_traces(db, trace_set.id)}
    references = [file_reference(t.answer) for t in lines]
    own = verifier is None
    verifier = verifier or Verifier()
    try:
        _grade(db, verifier, lines, references, rows)
        negatives = [
            NegativeTrace(str(t.id), t.question, t.response, ref, rows[str(t.id)].id)
            for t, ref in zip(lines, references, strict=True)
        ]
        values = estimate_values(db, backend, negatives, plan, verifier=verifier, progress=progress)
    finally:
        if own:
            verifier.close()
    report = FileReport(
        lines=len(lines),
        requests=values.requests,
        failed=values.failed,
        statuses=values.status_counts(),
        set_id=trace_set.id,
    )
    with JsonlWriter(out_path) as writer:
        for line, valued in zip(lines, values.traces, strict=True):
            pair = build_pair(valued, variant=variant, given=line.chosen, prefer_given=prefer_given)
            report.pairs += pair is not None
            writer.write(
                {
                    "id": line.id,
                    "steps": [s.text for s in valued.steps],
                    "q": valued.q,
                    "critical_step": valued.critical_step,
                    "prompt": pair.prompt if pair else None,
                    "chosen": pair.chosen if pair else None,
                    "rejected": pair.rejected if pair else None,
                }
            )
    return report


def _grade(
    db: Database,
    verifier: Verifier,
    lines: Sequence[FileTrace],
    references: Sequence[Any],
    rows: dict[str, Any],
) -> None:
    """Store each given trace's verdict (a 'correct' one is still valued, as asked)."""
    rewards = grade(verifier, [t.response for t in lines], references)
    save_grades(
        db,
        [
            TraceGrade(
                rows[str(t.id)].id, r.answer, r.rule, ref.answer, ref.source, r.verdict, r.label
            )
            for t, ref, r in zip(lines, references, rewards, strict=True)
        ],
    )
