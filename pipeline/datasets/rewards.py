"""The binary reward of Setlur et al. (2024): r = 1 iff a trace's final answer is right.

"Right" means equivalent (`pipeline.answers`) to the problem's reference: the answer the
strategy kept or derived from its seed where it has one, else the teacher's K-sample
majority (`scores.majority_answer`), the same rule the teacher's own solutions are labelled
with (`pipeline.solving.scores`). A trace without a reference is unverifiable (no label),
and is used neither as a positive nor as a negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.answers.extraction import extract_answer, extract_reference
from pipeline.answers.verification import Verifier
from storage.training_problems import ProblemAnswers


@dataclass(frozen=True)
class Reference:
    """The answer a trace is graded against, and where it came from."""

    answer: str | None
    source: str  # reference | majority | file | none


@dataclass(frozen=True)
class Reward:
    """One graded text: its extracted answer, the verdict and the binary label."""

    answer: str | None
    rule: str
    verdict: str  # correct | incorrect | unverifiable
    label: int | None


def problem_reference(problem: ProblemAnswers) -> Reference:
    """The kept/derived reference answer where the strategy gives one, else the majority."""
    if problem.answer_rule != "none" and problem.reference_answer:
        answer = extract_reference(problem.reference_answer).answer
        if answer is not None:
            return Reference(answer, "reference")
    if problem.majority_answer:
        return Reference(problem.majority_answer, "majority")
    return Reference(None, "none")


def file_reference(answer: str | None) -> Reference:
    """The reference of a file line's `answer` (a bare answer or a worked solution)."""
    extracted = extract_reference(answer).answer if answer else None
    return Reference(extracted, "file" if extracted is not None else "none")


def grade(
    verifier: Verifier, texts: Sequence[str], references: Sequence[Reference]
) -> list[Reward]:
    """The reward of each text against its reference (one verifier batch for all)."""
    extractions = [extract_answer(text) for text in texts]
    todo = [
        i
        for i, (found, ref) in enumerate(zip(extractions, references, strict=True))
        if found.answer is not None and ref.answer is not None
    ]
    verdicts = verifier.compare(
        [(references[i].answer or "", extractions[i].answer or "") for i in todo]
    )
    decided = dict(zip(todo, verdicts, strict=True))
    rewards = []
    for i, (found, ref) in enumerate(zip(extractions, references, strict=True)):
        if ref.answer is None:
            rewards.append(Reward(found.answer, found.rule, "unverifiable", None))
        elif found.answer is None:
            rewards.append(Reward(None, found.rule, "incorrect", 0))
        else:
            verdict = decided[i]
            label = None if verdict.equal is None else int(verdict.equal)
            rewards.append(Reward(found.answer, found.rule, verdict.label, label))
    return rewards
