"""Queries on the problems training data is made from: their answers, teacher solutions, strategy.

The reference a student trace is graded against comes from here (the kept/derived reference
answer and the teacher majority), as do the teacher's correct solutions that stand in as a
DPO pair's chosen side and the strategy counts of a dataset card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True)
class ProblemAnswers:
    """A problem's text and the answers its traces are graded against."""

    id: int
    text: str
    reference_answer: str | None
    answer_rule: str
    majority_answer: str | None


def problem_answers(db: Database, problem_ids: Sequence[int]) -> list[ProblemAnswers]:
    """Text, kept/derived reference and teacher majority of each problem, in the given order."""
    found: dict[int, ProblemAnswers] = {}
    for start in range(0, len(problem_ids), CHUNK):
        chunk = list(problem_ids[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            "SELECT p.id, p.text, p.reference_answer, p.answer_rule, s.majority_answer "
            f"FROM problems p LEFT JOIN scores s ON s.problem_id = p.id WHERE p.id IN ({marks})",
            chunk,
        ):
            found[int(row[0])] = ProblemAnswers(int(row[0]), row[1], row[2], row[3], row[4])
    return [found[pid] for pid in problem_ids if pid in found]


def teacher_solutions(db: Database, problem_ids: Sequence[int]) -> dict[int, list[str]]:
    """problem id -> its teacher solutions labelled correct (not truncated), by sample."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(problem_ids), CHUNK):
        chunk = list(problem_ids[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        for pid, text in db.execute(
            f"SELECT problem_id, text FROM solutions WHERE problem_id IN ({marks}) AND label = 1 "
            "AND COALESCE(finish_reason, 'stop') != 'length' ORDER BY problem_id, sample_index",
            chunk,
        ):
            found.setdefault(int(pid), []).append(str(text))
    return found


def problem_strategies(db: Database, problem_ids: Sequence[int]) -> dict[int, str]:
    """problem id -> the strategy that generated it."""
    found: dict[int, str] = {}
    for start in range(0, len(problem_ids), CHUNK):
        chunk = list(problem_ids[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        for pid, strategy in db.execute(
            f"SELECT id, strategy FROM problems WHERE id IN ({marks})", chunk
        ):
            found[int(pid)] = str(strategy)
    return found
