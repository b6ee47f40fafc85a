"""The constant-LaTeX evaluator behind the fast path: values, and when it must give up."""

from __future__ import annotations

import math

import pytest

from pipeline.answers.arithmetic import evaluate, values_compare
from pipeline.answers.normalisation import fast_compare


@pytest.mark.parametrize(
    ("latex", "value"),
    [
        ("2\\sqrt{3}", 2 * math.sqrt(3)),
        ("\\frac{\\pi}{4}", math.pi / 4),
        ("\\frac12", 0.5),
        ("-\\frac{1}{2}", -0.5),
        ("3^{2}+1", 10.0),
        ("\\sqrt[3]{8}", 2.0),
        ("(1+2)(3+4)", 21.0),
        ("10\\sqrt2", 10 * math.sqrt(2)),
        ("2 \\cdot 3 \\times 4", 24.0),
        ("\\frac{3\\sqrt{3}}{4}", 3 * math.sqrt(3) / 4),
    ],
)
def test_values(latex: str, value: float) -> None:
    result = evaluate(latex)
    assert result is not None and math.isclose(result, value, rel_tol=1e-12)


@pytest.mark.parametrize(
    "latex",
    [
        "x+1",
        "1\\frac{4}{5}",
        "0.5\\pi",
        "\\sqrt{-1}",
        "(-8)^{1/3}",
        "2^{1000}",
        "\\frac{1}{0}",
        "50\\%",
        "\\infty",
        "2 3",
        "(1,2)",
        "__import__('os')",
        "\\frac{" * 300,
    ],
)
def test_gives_up_outside_its_grammar(latex: str) -> None:
    assert evaluate(latex) is None


def test_tolerances() -> None:
    assert values_compare(1.0, 1.0 + 1e-14) is True
    assert values_compare(1.0, 1.001) is False
    assert values_compare(1.0, 1.0 + 1e-9) is None


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("3\\sqrt{13}", "\\sqrt{117}", True),
        ("3\\sqrt{13}", "406", False),
        ("\\frac{\\sqrt3}{2}", "0.866025", True),
        ("\\frac{\\sqrt3}{2}", "0.866", False),
        ("\\pi", "22/7", False),
    ],
)
def test_fast_path_settles_constant_expressions(gold: str, pred: str, expected: bool) -> None:
    equal, reason = fast_compare(gold, pred)
    assert reason.startswith("evaluated_") and equal is expected
