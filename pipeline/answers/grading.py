"""Grading a JSONL file of (gold, pred) records: each output line is its input plus the verdict.

Streams the input in chunks so memory stays flat on large files; output goes to a
`.part` file renamed at the end, so an interrupted run never leaves a truncated result,
and running the same command again resumes after the lines already graded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.answers.pool import DEFAULT_TIMEOUT_S
from pipeline.answers.verification import Verifier
from pipeline.errors import InputError

CHUNK_LINES = 4_000


@dataclass
class GradeSummary:
    """Counts of a graded file, and how long it took."""

    total: int = 0
    equivalent: int = 0
    not_equivalent: int = 0
    unverifiable: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


def _field(record: dict[str, Any], name: str, path: str, line: int) -> str | None:
    if name not in record:
        raise InputError(
            "missing; each line needs 'gold' and 'pred'", path=path, line=line, field=name
        )
    value = record[name]
    if value is None:
        return None
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        # OlympiadBench-style answer lists: one answer, or several answers of one problem.
        return ", ".join(str(v) for v in value) if value else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(
            f"must be a string, a number or a list of them, not {type(value).__name__}",
            path=path,
            line=line,
            field=name,
        )
    return str(value)


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path), line=number
                ) from None
            if not isinstance(record, dict):
                raise InputError(
                    "each line must be a JSON object with 'gold' and 'pred'",
                    path=str(path),
                    line=number,
                )
            yield number, record


def count_lines(path: str | Path) -> int:
    """Non-empty lines of a file (for the progress bar's total)."""
    with Path(path).open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def _resume(part: Path, source: Path, summary: GradeSummary) -> int:
    """Lines an interrupted run already graded into `part` (0 when it does not match `source`).

    Counts the kept lines into `summary`; a half-written last line is dropped.
    """
    if not part.is_file():
        return 0
    graded: list[dict[str, Any]] = []
    with part.open(encoding="utf-8") as handle:
        for raw in handle:
            try:
                graded.append(json.loads(raw))
            except json.JSONDecodeError:
                break
    if not graded:
        return 0
    for index, (_, record) in enumerate(_records(source)):
        if index == len(graded) - 1:
            last = graded[-1]
            if (record.get("gold"), record.get("pred")) != (last.get("gold"), last.get("pred")):
                return 0
            break
    else:
        return 0
    with part.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in graded)
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
    summary.reasons[reason] = summary.reasons.get(reason, 0) + 1


def grade_file(
    src: str | Path,
    dst: str | Path,
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    fallback_last_number: bool = True,
    progress: Callable[[int], None] | None = None,
) -> GradeSummary:
    """Grade every line of `src` into `dst`: adds equivalent, pred_extracted, gold_extracted, reason."""
    source, target = Path(src), Path(dst)
    if not source.is_file():
        raise InputError(
            "no such file; give a JSONL file with 'gold' and 'pred' per line", path=str(source)
        )
    if source.resolve() == target.resolve():
        raise InputError("--out must differ from the input file", path=str(target))
    if not target.parent.exists():
        raise InputError(f"folder {target.parent} does not exist", path=str(target))
    summary = GradeSummary()
    started = time.perf_counter()
    part = target.with_name(target.name + ".part")
    done = _resume(part, source, summary)
    if done and progress is not None:
        progress(done)
    try:
        with (
            Verifier(workers, timeout_s, fallback_last_number=fallback_last_number) as verifier,
            part.open("a" if done else "w", encoding="utf-8") as out,
        ):
            chunk: list[dict[str, Any]] = []
            pairs: list[tuple[str | None, str | None]] = []

            def flush() -> None:
                for record, grade in zip(chunk, verifier.grade(pairs, progress), strict=True):
                    record.update(
                        equivalent=grade.equivalent,
                        pred_extracted=grade.pred_extracted,
                        gold_extracted=grade.gold_extracted,
                        reason=grade.reason,
                        pred_rule=grade.pred_rule,
                        gold_rule=grade.gold_rule,
                    )
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    _count(summary, grade.equivalent, grade.reason)
                out.flush()
                chunk.clear()
                pairs.clear()

            for index, (number, record) in enumerate(_records(source)):
                if index < done:
                    continue
                pairs.append(
                    (
                        _field(record, "gold", str(source), number),
                        _field(record, "pred", str(source), number),
                    )
                )
                chunk.append(record)
                if len(chunk) >= CHUNK_LINES:
                    flush()
            flush()
    except KeyboardInterrupt:
        raise  # the graded lines stay in OUT.part; the same command resumes after them
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    summary.seconds = time.perf_counter() - started
    return summary
