"""A table of equivalence cases across every answer category, checked in both directions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.answers import Verifier
from pipeline.answers.normalisation import fast_compare

# (gold, pred, expected); every case is also checked with the sides swapped unless ONE_WAY.
NUMBERS = [
    ("18", "18", True),
    ("18", "18.0", True),
    ("18", "18.00", True),
    ("18", "19", False),
    ("-3", "-3", True),
    ("-3", "3", False),
    ("1234", "1,234", True),
    ("1234567", "1,234,567", True),
    ("1234", "1{,}234", True),
    ("1000000", "1 000 000", True),
    ("1234", "1,243", False),
    ("0.5", "\\frac{1}{2}", True),
    ("0.5", "\\frac12", True),
    ("0.5", "1/2", True),
    ("0.5", "\\dfrac{1}{2}", True),
    ("0.75", "\\tfrac{3}{4}", True),
    ("-0.25", "-\\frac{1}{4}", True),
    ("-0.25", "\\frac{-1}{4}", True),
    ("0.5", "\\frac{1}{3}", False),
    ("\\frac{1}{3}", "0.333333", True),
    ("\\frac{1}{3}", "0.33", False),
    ("\\frac{2}{4}", "\\frac{1}{2}", True),
    ("3/4", "0.75", True),
    (".5", "0.5", True),
    ("50\\%", "50", True),
    ("50\\%", "0.5", True),
    ("50%", "50\\%", True),
    ("25%", "0.3", False),
    ("1.5e3", "1500", True),
    ("1.5 \\times 10^{3}", "1500", True),
    ("2 \\cdot 10^3", "2000", True),
    ("3 \\times 10^{-2}", "0.03", True),
    ("6.02e23", "6.02 \\times 10^{23}", True),
    ("1e3", "100", False),
    ("18", "\\$18", True),
    ("18", "$18.00", True),
    ("18", "18 dollars", True),
    ("5", "5 cm", True),
    ("12", "12 \\text{ cm}^2", True),
    ("30", "30^\\circ", True),
    ("30", "30^{\\circ}", True),
    ("90", "90°", True),
    ("7", "7 apples", True),
    ("7", "8 apples", False),
    ("42", "x = 42", True),
    ("42", "x=41", False),
    ("0", "-0", True),
    ("1000", "1,000.00", True),
    ("2.5", "5/2", True),
    ("2.5", "2.50", True),
    ("3.14159", "3.14159", True),
    ("100", "\\boxed{100}", True),
    ("0.1", "10\\%", True),
    ("\\frac{1}{3}", "0.3333", False),
    ("\\$1,000", "1000", True),
]

LATEX = [
    ("\\sqrt{2}", "\\sqrt{2}", True),
    ("\\sqrt{2}", "sqrt(2)", True),
    ("2\\sqrt{3}", "\\sqrt{12}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2}", False),
    ("\\sqrt{2}", "1.41", False),
    ("\\pi", "pi", True),
    ("2\\pi", "2 \\pi", True),
    ("\\frac{\\pi}{2}", "\\pi/2", True),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{6}", False),
    ("x^2+1", "1+x^2", True),
    ("x^2+1", "x**2 + 1", True),
    ("x^2+1", "x^2-1", False),
    ("(x+1)^2", "x^2+2x+1", True),
    ("(x+1)^2", "x^2+x+1", False),
    ("\\frac{x}{2}", "0.5x", True),
    ("2x+3", "3+2x", True),
    ("a+b", "b+a", True),
    ("a-b", "b-a", False),
    ("\\left(\\frac{1}{2}\\right)", "\\frac{1}{2}", True),
    ("\\log_2 8", "3", True),
    ("\\ln(e)", "1", True),
    ("\\sin^2 x + \\cos^2 x", "1", True),
    ("3+4i", "4i+3", True),
    ("3+4i", "3-4i", False),
    ("\\infty", "\\infty", True),
    ("\\infty", "-\\infty", False),
    ("2^{10}", "1024", True),
    ("2^{10}", "1000", False),
    ("\\binom{5}{2}", "10", True),
    ("5!", "120", True),
    ("\\frac{1+\\sqrt{5}}{2}", "\\frac{\\sqrt{5}+1}{2}", True),
    ("10\\sqrt{2}", "\\sqrt{200}", True),
    ("\\sqrt[3]{8}", "2", True),
    ("\\frac{a}{b}", "a/b", True),
    ("\\dfrac{7}{3}", "2\\frac{1}{3}", True),
    ("4\\pi", "12.566", False),
    ("\\frac{3}{\\sqrt{2}}", "\\frac{3\\sqrt{2}}{2}", True),
    ("\\sqrt{8}", "2\\sqrt{2}", True),
    ("x(x+1)", "x^2+x", True),
    ("\\frac{1}{x}", "x^{-1}", True),
    ("\\cos(0)", "1", True),
    ("\\frac{22}{7}", "\\pi", False),
]

SETS = [
    ("[1, 2)", "[1,2)", True),
    ("(1, 2]", "[1, 2)", False),
    ("(0, \\infty)", "(0,\\infty)", True),
    ("(-\\infty, 3]", "(-\\infty, 3)", False),
    ("[2, 5]", "[2, 5]", True),
    ("(1,2) \\cup (3,4)", "(3,4) \\cup (1,2)", True),
    ("(1,2) \\cup (3,4)", "(1,2) \\cup (3,5)", False),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", True),
    ("\\{1, 2, 3\\}", "\\{1, 2\\}", False),
    ("\\{1,2\\}", "\\{2,1\\}", True),
    ("\\{-1, 1\\}", "\\{1, -1\\}", True),
    ("\\emptyset", "\\emptyset", True),
    ("x > 3", "(3, \\infty)", True),
    ("x \\le 2", "(-\\infty, 2]", True),
    ("x \\le 2", "(-\\infty, 2)", False),
    ("[0, 1]", "[0, 1)", False),
]

TUPLES = [
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(3, \\frac{\\pi}{2})", "(3, pi/2)", True),
    ("(1, 2)", "(1,2)", True),
    ("(1, 2)", "(2, 1)", False),
    ("(1, 2, 3)", "(1, 2, 3)", True),
    ("(1, 2, 3)", "(1, 2, 4)", False),
    ("(0.5, 2)", "(\\frac{1}{2}, 2)", True),
    ("(-1, 4)", "(-1, -4)", False),
    ("1, 2", "2, 1", True),
    ("1, 2", "1, 3", False),
    ("(2, -3)", "(2,-3)", True),
]

EQUATIONS = [
    ("x = 5", "5", True),
    ("y = 2x + 3", "y = 3 + 2x", True),
    ("y = 2x + 3", "y = 2x - 3", False),
    ("y = 2x + 3", "2x+3", True),
    ("x^2 + y^2 = 1", "y^2 + x^2 = 1", True),
    ("x^2 + y^2 = 1", "x^2 + y^2 = 2", False),
    ("x > 3", "x > 3", True),
    ("x > 3", "3 < x", True),
    ("x > 3", "x \\ge 3", False),
    ("x \\ge 3", "x >= 3", True),
    ("x < 2", "x > 2", False),
    ("1 < x < 2", "(1, 2)", True),
    ("x = 2", "x = 3", False),
]

MATRICES = [
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        True,
    ),
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",
        True,
    ),
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}",
        False,
    ),
    (
        "\\begin{pmatrix} 0.5 \\\\ 2 \\end{pmatrix}",
        "\\begin{pmatrix} \\frac{1}{2} \\\\ 2 \\end{pmatrix}",
        True,
    ),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}", False),
    (
        "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
        "\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}",
        True,
    ),
]

TEXT = [
    ("Yes", "yes", True),
    ("Yes", "No", False),
    ("\\text{Monday}", "Monday", True),
    ("\\text{Monday}", "Tuesday", False),
    ("(A)", "A", True),
    ("(B)", "A", False),
    ("\\text{(C)}", "C", True),
    ("E", "(E)", True),
    ("north east", "North East", True),
    ("even", "odd", False),
    ("18", "eighteen", False),
    ("\\text{even}", "even", True),
    ("B", "\\textbf{(B)}", True),
]

ONE_WAY = [
    # Without a marked answer nothing matches; an empty prediction is wrong, not unknown.
    ("5", "", False),
    ("", "5", None),
]

SYMMETRIC = NUMBERS + LATEX + SETS + TUPLES + EQUATIONS + MATRICES + TEXT


def _both_ways() -> Iterator[tuple[str, str, bool | None]]:
    for gold, pred, expected in SYMMETRIC:
        yield gold, pred, expected
        yield pred, gold, expected
    yield from ONE_WAY


CASES = list(_both_ways())


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=2, timeout_s=10) as shared:
        yield shared


@pytest.fixture(scope="module")
def verdicts(verifier: Verifier) -> dict[tuple[str, str], bool | None]:
    results = verifier.compare([(g, p) for g, p, _ in CASES])
    return {(g, p): v.equal for (g, p, _), v in zip(CASES, results, strict=True)}


def test_table_is_large_and_balanced() -> None:
    assert len(SYMMETRIC) >= 150
    assert sum(1 for *_, e in SYMMETRIC if e is False) >= 40


@pytest.mark.parametrize(
    ("gold", "pred", "expected"), CASES, ids=[f"{g!r}~{p!r}"[:60] for g, p, _ in CASES]
)
def test_equivalence(
    verdicts: dict[tuple[str, str], bool | None], gold: str, pred: str, expected: bool | None
) -> None:
    assert verdicts[(gold, pred)] is expected


@pytest.mark.parametrize(("gold", "pred", "expected"), NUMBERS[:30])
def test_plain_numbers_never_need_sympy(gold: str, pred: str, expected: bool) -> None:
    equal, reason = fast_compare(gold, pred)
    assert reason != "needs_symbolic"
    assert equal is expected
