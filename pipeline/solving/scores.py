"""Quality signals per problem from its sampled solutions; labels per solution (the binary reward).

Nothing is decided here: answer groups, the majority and its share, agreement with the
reference answer, judge scores and lengths are stored in `scores`, and selection policies
are queries over them (`pipeline.selection`). Answers are grouped with the verifier, not
by string equality, so "1/2", "0.5" and "\\frac12" form one group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from pipeline.answers.extraction import extract_answer, extract_reference
from pipeline.answers.grouping import AnswerGroups, group_answers
from pipeline.answers.verification import Verifier
from pipeline.experiments.lookup import resolve_experiment
from pipeline.progress import ProgressEvent, Reporter, ignore
from storage.database import transaction

CHUNK = 500


@dataclass(frozen=True)
class SolutionRow:
    """One sampled solution, as read from `solutions`."""

    id: int
    sample_index: int
    text: str
    answer: str | None
    rule: str | None


@dataclass
class ScoreSummary:
    """What a scoring run did: counts for the CLI/TUI to show."""

    problems: int = 0
    solutions: int = 0
    positive: int = 0
    negative: int = 0
    unverifiable: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def _score_row(
    problem_id: int, text: str, solutions: Sequence[SolutionRow], groups: AnswerGroups
) -> dict[str, Any]:
    n = len(solutions)
    sizes = groups.sizes()
    majority_share = sizes[0] / n if sizes and n else None
    first_group = groups.group_of(0) if n else None
    strict_majority = majority_share is not None and majority_share > 0.5
    return {
        "problem_id": problem_id,
        "n_solutions": n,
        "n_groups": len(sizes),
        "groups_json": json.dumps([[a, s] for a, s in zip(groups.answers(), sizes, strict=True)]),
        "majority_answer": groups.answers()[0] if sizes else None,
        "majority_share": round(majority_share, 6) if majority_share is not None else None,
        "first_answer": solutions[0].answer if n else None,
        "first_is_majority": (int(first_group == 0 and strict_majority) if n else None),
        "all_agree": (int(len(sizes) == 1 and sizes[0] == n) if n else None),
        "reference_agrees": groups.reference_agrees(),
        "problem_chars": len(text),
        "solution_chars_mean": (sum(len(s.text) for s in solutions) / n) if n else None,
    }


def _labels(solutions: Sequence[SolutionRow], groups: AnswerGroups) -> list[tuple[Any, ...]]:
    """(answer, rule, verdict, label, id) per solution: against the reference, else the majority."""
    rows: list[tuple[Any, ...]] = []
    for position, solution in enumerate(solutions):
        group = groups.group_of(position)
        label: int | None
        if group is None:
            verdict, label = "incorrect", 0
        elif groups.has_reference:
            agrees = groups.group_matches_reference(group)
            verdict = {True: "correct", False: "incorrect", None: "unverifiable"}[agrees]
            label = None if agrees is None else int(agrees)
        else:
            verdict, label = ("correct", 1) if group == 0 else ("incorrect", 0)
        rows.append((solution.answer, solution.rule, verdict, label, solution.id))
    return rows


def _load_chunk(
    db: Database, experiment_id: int, after: int, limit: int, reextract: bool
) -> list[tuple[int, str, str | None, list[SolutionRow]]]:
    problems = db.execute(
        "SELECT id, text, reference_answer FROM problems WHERE experiment_id = ? "
        "AND status = 'ok' AND id > ? ORDER BY id LIMIT ?",
        [experiment_id, after, limit],
    ).fetchall()
    if not problems:
        return []
    by_problem: dict[int, list[SolutionRow]] = {int(p[0]): [] for p in problems}
    marks = ",".join("?" * len(by_problem))
    for row in db.execute(
        "SELECT id, problem_id, sample_index, text, extracted_answer, extract_rule FROM solutions "
        f"WHERE problem_id IN ({marks}) ORDER BY problem_id, sample_index, id",
        list(by_problem),
    ):
        answer, rule = row[4], row[5]
        if reextract or rule is None:
            extraction = extract_answer(row[3])
            answer, rule = extraction.answer, extraction.rule
        by_problem[int(row[1])].append(SolutionRow(int(row[0]), int(row[2]), row[3], answer, rule))
    return [(int(p[0]), p[1], p[2], by_problem[int(p[0])]) for p in problems]


def score_experiment(
    db: Database,
    experiment: str | int,
    *,
    verifier: Verifier | None = None,
    reextract: bool = False,
    chunk: int = CHUNK,
    progress: Reporter = ignore,
) -> ScoreSummary:
    """Compute and store `scores` signals and solution verdicts/labels for an experiment.

    Idempotent: a rerun recomputes the same rows (judge, dedup and decontam columns are
    left alone). Each chunk of problems is written in one transaction, so an interrupted
    run keeps what it finished.
    """
    experiment_id = resolve_experiment(db, experiment)
    total = int(
        db.execute(
            "SELECT COUNT(*) FROM problems WHERE experiment_id = ? AND status = 'ok'",
            [experiment_id],
        ).fetchone()[0]
    )
    own = verifier is None
    verifier = verifier or Verifier()
    summary = ScoreSummary()
    after = 0
    progress(ProgressEvent("score", 0, total))
    try:
        while True:
            batch = _load_chunk(db, experiment_id, after, chunk, reextract)
            if not batch:
                break
            after = batch[-1][0]
            references = [extract_reference(ref).answer if ref else None for _, _, ref, _ in batch]
            grouped = group_answers(
                [[s.answer for s in sols] for _, _, _, sols in batch], references, verifier
            )
            score_rows, label_rows = [], []
            for (pid, text, _, sols), groups in zip(batch, grouped, strict=True):
                score_rows.append(_score_row(pid, text, sols, groups))
                label_rows.extend(_labels(sols, groups))
                for sol in sols:
                    summary.by_rule[sol.rule or "none"] = (
                        summary.by_rule.get(sol.rule or "none", 0) + 1
                    )
            _write(db, score_rows, label_rows)
            summary.problems += len(batch)
            summary.solutions += len(label_rows)
            summary.positive += sum(1 for r in label_rows if r[3] == 1)
            summary.negative += sum(1 for r in label_rows if r[3] == 0)
            summary.unverifiable += sum(1 for r in label_rows if r[3] is None)
            progress(ProgressEvent("score", summary.problems, total))
    finally:
        if own:
            verifier.close()
    return summary


_SCORE_COLUMNS = (
    "n_solutions",
    "n_groups",
    "groups_json",
    "majority_answer",
    "majority_share",
    "first_answer",
    "first_is_majority",
    "all_agree",
    "reference_agrees",
    "problem_chars",
    "solution_chars_mean",
)


def _write(
    db: Database, score_rows: list[dict[str, Any]], label_rows: list[tuple[Any, ...]]
) -> None:
    """Upsert only the columns this module owns, and the solutions' verdicts, in one transaction."""
    columns = ", ".join(("problem_id", *_SCORE_COLUMNS))
    marks = ", ".join("?" * (len(_SCORE_COLUMNS) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _SCORE_COLUMNS)
    with transaction(db):
        db.conn.executemany(
            f"INSERT INTO scores ({columns}) VALUES ({marks}) ON CONFLICT(problem_id) DO UPDATE "
            f"SET {updates}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [[row["problem_id"], *(row[c] for c in _SCORE_COLUMNS)] for row in score_rows],
        )
        db.conn.executemany(
            "UPDATE solutions SET extracted_answer = ?, extract_rule = ?, verdict = ?, label = ? "
            "WHERE id = ?",
            label_rows,
        )
