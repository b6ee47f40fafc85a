"""The grader on hard answers (issue 15 section 3, issue 16 item 14, issue 17 item 11).

The cases are this project's own (`grader_cases.py`), by category: several boxes as one set
or tuple, decimal commas, systems of assignments, `\\text{}` answers, golds inside a sentence
or display maths, factorial and matrix golds, and prose after an answer cue.
"""

from __future__ import annotations

from functools import cache

import pytest

from pipeline.answers import Grade, Verifier, extract_answer, extract_reference
from tests.unit.grader_cases import CASES, CATEGORIES


@cache
def graded() -> tuple[Grade, ...]:
    """Every case graded in one batch (one pool for the whole module)."""
    with Verifier(workers=2, timeout_s=10) as verifier:
        return tuple(verifier.grade([(gold, pred) for _, gold, pred, _ in CASES]))


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_case(index: int, case: tuple[str, str, str, bool]) -> None:
    _, gold, pred, expected = case
    grade = graded()[index]
    assert (grade.equivalent is True) == expected, grade
    assert grade.reason  # every verdict keeps its reason


@pytest.mark.timeout(300)
def test_agreement_per_category_is_at_least_the_goal() -> None:
    for category in CATEGORIES:
        pairs = [(c, g) for c, g in zip(CASES, graded(), strict=True) if c[0] == category]
        agree = sum((g.equivalent is True) == c[3] for c, g in pairs)
        assert agree / len(pairs) >= 0.98, category


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "2, 3", "boxed_set"),
        ("So $x = \\boxed{3}$ or $x = \\boxed{-2}$", "3, -2", "boxed_set"),
        ("First \\boxed{3}, then corrected: \\boxed{4}", "4", "boxed"),
        ("The answer is to the total cost.", None, "prose"),
        ("Final answer: seven more than before", None, "prose"),
        ("The answer is yes.", "yes", "the_answer_is"),
        ("The answer is $5!$.", "5!", "the_answer_is"),
        ("Wow, that is 12!", "12", "last_number"),
    ],
)
def test_new_extraction_rules(text: str, answer: str | None, rule: str) -> None:
    found = extract_answer(text)
    assert (found.answer, found.rule) == (answer, rule)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("5!", "5!"),
        ("So the total is $42$ apples.", "42"),
        ("She ends with 18 dollars.", "18"),
        ("$$\n x = \\frac{\\sqrt{5}}{2}\n$$", "x = \\frac{\\sqrt{5}}{2}"),
        (
            "\\begin{pmatrix}\n 2 \\\\\n -1 \\\\\n 5 \\\\\n 0 \\\\\n 7 \\\\\n 3\n\\end{pmatrix}",
            None,
        ),
        ("No real solutions", "No real solutions"),
        ("\\text{North America}", "\\text{North America}"),
    ],
)
def test_gold_extraction(gold: str, answer: str | None) -> None:
    found = extract_reference(gold)
    assert found.answer == (answer if answer is not None else gold.strip())
