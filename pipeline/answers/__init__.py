"""Answers: extraction, equivalence (fast path + bounded math-verify pool) and file grading.

Import from here: `extract_answer`, `equivalent`, `grade`, `Verdict`, `Verifier`, `grade_pairs`.
math-verify and sympy load only inside pool workers, never on import.
"""

from __future__ import annotations

from pipeline.answers.extraction import Extraction, extract_answer, extract_reference
from pipeline.answers.verification import (
    Grade,
    Verdict,
    Verifier,
    equivalent,
    grade,
    grade_pairs,
)

__all__ = [
    "Extraction",
    "Grade",
    "Verdict",
    "Verifier",
    "equivalent",
    "extract_answer",
    "extract_reference",
    "grade",
    "grade_pairs",
]
