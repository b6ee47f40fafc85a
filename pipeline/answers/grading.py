"""Grading a JSONL file of (gold, pred) records: each output line is its input plus the verdict.

Streams the input in chunks so memory stays flat on large files. Every non-blank input line
gets exactly one output line, in order: a line that cannot be graded (not JSON, not an
object, a field of the wrong type) gets `equivalent: null` and a `reason` saying why, so one
bad line never costs the file. Output goes through `pipeline.jsonl` (strict JSON, no NaN):
to `OUT.part`, renamed at the end; an interrupted or failed run keeps the `.part`, and
running the same command again resumes after the lines already graded.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.answers.pool import DEFAULT_TIMEOUT_S
from pipeline.answers.verification import Verifier
from pipeline.errors import InputError
from pipeline.jsonl import JsonlWriter, dumps
from pipeline.progress import ProgressEvent, Reporter, ignore

CHUNK_LINES = 4_000
STAGE = "grade"
# Integers longer than this stay text: Python refuses to convert more than 4300 digits.
MAX_INT_DIGITS = 1_000
MAX_ECHO_CHARS = 1_000  # how much of an unreadable line is echoed in its output record


@dataclass
class GradeSummary:
    """Counts of a graded file, and how long it took."""

    total: int = 0
    equivalent: int = 0
    not_equivalent: int = 0
    unverifiable: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One non-blank input line: its record, or why it cannot be graded."""

    number: int
    record: dict[str, Any] | None
    gold: str | None = None
    pred: str | None = None
    problem: str | None = None  # set when the line gets a null verdict without grading
    echo: Any = None  # what an unusable line held, for its output record

    def matches(self, graded: dict[str, Any]) -> bool:
        """Whether `graded` is this line's output (used when resuming)."""
        if self.record is None:
            return graded.get("line") == self.number
        return (self.record.get("gold"), self.record.get("pred")) == (
            graded.get("gold"),
            graded.get("pred"),
        )


def _finite_float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text  # "1e400" stays as written


def _bounded_int(text: str) -> int | str:
    return int(text) if len(text) <= MAX_INT_DIGITS else text


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(raw: bytes) -> tuple[Any, str | None]:
    """The JSON value of a line, or why it has none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"bad_line: not UTF-8 (byte {exc.start})"
    try:
        return (
            json.loads(
                text,
                parse_float=_finite_float,
                parse_int=_bounded_int,
                parse_constant=_no_constants,
            ),
            None,
        )
    except RecursionError:
        return None, "bad_line: JSON nested too deeply"
    except json.JSONDecodeError as exc:
        return None, f"bad_line: not valid JSON ({exc.msg} at column {exc.colno})"
    except ValueError as exc:  # NaN/Infinity literals, an integer too long to convert
        return None, f"bad_line: not valid JSON ({exc})"


def _field(record: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    """(text, None) for a usable gold/pred field, or (None, why it is not usable)."""
    if name not in record:
        return None, f"bad_field: '{name}' is missing; each line needs 'gold' and 'pred'"
    value = record[name]
    if value is None:
        return None, None
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        # OlympiadBench-style answer lists: one answer, or several answers of one problem.
        return (", ".join(str(v) for v in value) if value else None), None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        kind = "boolean" if isinstance(value, bool) else type(value).__name__
        return None, f"bad_field: '{name}' must be a string, a number or a list of them, not {kind}"
    return str(value), None


def read_lines(path: Path) -> Iterator[Line]:
    """Every non-blank line of `path` as a `Line` (never raises for a bad line)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            value, problem = _decode(raw)
            if problem is not None:
                echo = raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_ECHO_CHARS]
                yield Line(number, None, problem=problem, echo=echo)
            elif not isinstance(value, dict):
                kind = "boolean" if isinstance(value, bool) else type(value).__name__
                yield Line(
                    number,
                    None,
                    problem=f"bad_line: expected a JSON object with 'gold' and 'pred', not {kind}",
                    echo=value,
                )
            else:
                gold, gold_problem = _field(value, "gold")
                pred, pred_problem = _field(value, "pred")
                yield Line(number, value, gold, pred, problem=gold_problem or pred_problem)


def count_lines(path: str | Path) -> int:
    """Non-empty lines of a file (for the progress bar's total)."""
    with Path(path).open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def _resume(part: Path, source: Path, summary: GradeSummary) -> int:
    """Lines an interrupted run already graded into `part` (0 when it does not match `source`).

    Counts the kept lines into `summary` and rewrites `part` without a half-written last line.
    """
    if not part.is_file():
        return 0
    graded: list[dict[str, Any]] = []
    with part.open("rb") as handle:
        for raw in handle:
            value, problem = _decode(raw)
            if problem is not None or not isinstance(value, dict):
                break
            graded.append(value)
    if not graded:
        return 0
    for index, line in enumerate(read_lines(source)):
        if index == len(graded) - 1:
            if not line.matches(graded[-1]):
                return 0
            break
    else:
        return 0
    part.write_text("".join(dumps(record) + "\n" for record in graded), encoding="utf-8")
    for record in graded:
        _count(summary, record.get("equivalent"), str(record.get("reason")))
    return len(graded)


def _count(summary: GradeSummary, equivalent: bool | None, reason: str) -> None:
    summary.total += 1
    if equivalent is None:
        summary.unverifiable += 1
    elif equivalent:
        summary.equivalent += 1
    else:
        summary.not_equivalent += 1
    key = reason.split(":", 1)[0] if reason.startswith("bad_") else reason
    summary.reasons[key] = summary.reasons.get(key, 0) + 1


def grade_file(
    src: str | Path,
    dst: str | Path,
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    fallback_last_number: bool = True,
    progress: Reporter = ignore,
) -> GradeSummary:
    """Grade every line of `src` into `dst`: adds equivalent, pred_extracted, gold_extracted,
    reason and the extraction rules; a line that cannot be graded gets a null verdict."""
    source, target = Path(src), Path(dst)
    if not source.is_file():
        raise InputError(
            "no such file; give a JSONL file with 'gold' and 'pred' per line", path=str(source)
        )
    if source.resolve() == target.resolve():
        raise InputError("--out must differ from the input file", path=str(target))
    if not target.parent.is_dir():
        raise InputError(f"folder {target.parent} does not exist", path=str(target))
    total = count_lines(source)
    summary = GradeSummary()
    started = time.perf_counter()
    part = target.with_name(target.name + ".part")
    done = _resume(part, source, summary)
    progress(ProgressEvent(STAGE, done, total, f"resumed after {done} lines" if done else ""))
    with (
        Verifier(workers, timeout_s, fallback_last_number=fallback_last_number) as verifier,
        JsonlWriter(target, append=done > 0) as out,
    ):
        chunk: list[Line] = []

        def flush() -> None:
            usable = [line for line in chunk if line.problem is None]
            grades = iter(verifier.grade([(line.gold, line.pred) for line in usable]))
            for line in chunk:
                if line.problem is not None:
                    row = _unusable(line)
                else:
                    grade = next(grades)
                    row = dict(line.record or {})
                    row.update(
                        equivalent=grade.equivalent,
                        pred_extracted=grade.pred_extracted,
                        gold_extracted=grade.gold_extracted,
                        reason=grade.reason,
                        pred_rule=grade.pred_rule,
                        gold_rule=grade.gold_rule,
                    )
                out.write(row)
                _count(summary, row["equivalent"], str(row["reason"]))
            out.flush()
            chunk.clear()
            progress(ProgressEvent(STAGE, summary.total, total, _detail(summary)))

        for index, line in enumerate(read_lines(source)):
            if index < done:
                continue
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                flush()
        flush()
    summary.seconds = time.perf_counter() - started
    return summary


def _unusable(line: Line) -> dict[str, Any]:
    """The output record of a line that gets a null verdict without grading."""
    if line.record is not None:
        return {**line.record, "equivalent": None, "reason": line.problem}
    return {"line": line.number, "input": line.echo, "equivalent": None, "reason": line.problem}


def _detail(summary: GradeSummary) -> str:
    return (
        f"{summary.equivalent} equivalent, {summary.not_equivalent} not, "
        f"{summary.unverifiable} unverifiable"
    )
