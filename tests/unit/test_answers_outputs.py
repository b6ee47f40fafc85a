"""Whole model outputs (GSM8K- and MATH-style) graded against bare gold answers, known verdicts."""

from __future__ import annotations

import pytest

from pipeline.answers import grade_pairs

GSM8K = [
    (
        "18",
        "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 "
        "every day at the farmer's market.\n#### 18",
        True,
    ),
    ("18", "She has 16 - 3 - 4 = 9 eggs left. 9 * 2 = 18. The answer is 18.", True),
    ("18", "She has 16 - 3 - 4 = 9 eggs left. 9 * 2 = 18. The answer is $18.", True),
    ("18", "She earns 9 * 2 = 18 dollars.\nThe answer is: 18 dollars", True),
    ("18", "Step 1: 16 - 3 - 4 = 9.\nStep 2: 9 x 2 = 18.\nFinal answer: \\boxed{18}", True),
    ("18", "So she makes 9 * $2 = $18 per day.", True),
    ("18", "16 - 3 - 4 = 9 eggs, 9 * 2 = 19. The answer is 19.", False),
    ("18", "She makes 18 dollars on Monday, but the answer is 36.", False),
    ("1200", "The total is 400 * 3 = 1,200.\n#### 1,200", True),
    ("1200", "The total is 400 * 3 = 1200. The answer is 1,200.", True),
    ("1200", "The total is 400 * 3 = 1200.00 dollars", True),
    ("0.5", "Half of the pie is left, so the answer is 1/2.", True),
    ("25", "The discount is 25%. The answer is 25%.", True),
    ("25", "The discount is 25 percent.", True),
    ("-3", "The temperature dropped to -3 degrees. The answer is -3.", True),
    ("3", "The temperature dropped to -3 degrees. The answer is -3.", False),
    ("5", "I could not determine the number of apples from the information given.", False),
    ("7", "There are 7 days in a week, so the answer is 7 days.", True),
    ("42", "**Answer:** 42", True),
    ("42", "The final answer is $\\boxed{42}$. I hope it is correct.", True),
    ("2.5", "Each person gets 5 / 2 = 2.5 liters. The answer is 2.5 liters.", True),
    ("60", "The speed is 120 / 2 = 60 km/h. The answer is 60 km/h.", True),
    ("4", "He needs 12 / 3 = 4 boxes.\n\nAnswer: 4 boxes", True),
    ("4", "He needs 12 / 3 = 4 boxes, but then buys 2 more, giving 6", False),
]

MATH = [
    ("\\frac{14}{3}", "Adding, $2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$", True),
    ("\\frac{14}{3}", "Adding gives $\\boxed{\\dfrac{14}{3}}$.", True),
    ("\\frac{14}{3}", "Adding gives $\\boxed{4.6667}$.", False),
    (
        "\\left( 3, \\frac{\\pi}{2} \\right)",
        "The polar coordinates are $\\boxed{(3,\\pi/2)}$.",
        True,
    ),
    (
        "\\left( 3, \\frac{\\pi}{2} \\right)",
        "The polar coordinates are $\\boxed{(3,\\pi)}$.",
        False,
    ),
    ("\\text{Evelyn}", "Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.", True),
    ("90^\\circ", "The angle is $\\boxed{90^\\circ}$.", True),
    ("90^\\circ", "The angle is $\\boxed{90}$ degrees.", True),
    ("3\\sqrt{13}", "So $AB = \\sqrt{117} = \\boxed{3\\sqrt{13}}$.", True),
    ("3\\sqrt{13}", "So $AB = \\boxed{\\sqrt{117}}$.", True),
    ("3\\sqrt{13}", "So $AB = \\boxed{\\sqrt{113}}$.", False),
    ("6 - 5i", "Thus $z = \\boxed{6-5i}$.", True),
    ("x=5", "Solving, $\\boxed{x = 5}$.", True),
    ("x=5", "Solving, $\\boxed{5}$.", True),
    ("1,-2", "The roots are $\\boxed{-2, 1}$.", True),
    (
        "[-3, 2]",
        "The domain is $\\boxed{[-3,2]}$. Final Answer: The final answer is $[-3,2]$.",
        True,
    ),
    (
        "[-3, 2]",
        "First $\\boxed{[-3,2]}$, but correcting: $\\boxed{(-\\infty,-3] \\cup [2,\\infty)}$",
        False,
    ),
    (
        "\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}",
        "The vector is $\\boxed{\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}}$.",
        True,
    ),
    ("p - q", "This telescopes to $\\boxed{p - q}$.", True),
    ("p - q", "This telescopes to $\\boxed{q - p}$.", False),
    ("16386.20", "Her investment is worth $\\boxed{\\$16,\\!386.20}$.", True),
    ("14916", "The smallest is $\\boxed{14{,}916}$.", True),
    ("(7, 6)", "So the ordered pair $(x, y)$ that solves the system is $(7, 6)$.", True),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("cases", "name"), [(GSM8K, "gsm8k"), (MATH, "math")])
def test_outputs(cases: list[tuple[str, str, bool]], name: str) -> None:
    grades = grade_pairs([(gold, pred) for gold, pred, _ in cases], workers=2, timeout_s=10)
    wrong = [
        (gold, pred[-60:], grade.pred_extracted, grade.reason)
        for (gold, pred, expected), grade in zip(cases, grades, strict=True)
        if grade.equivalent is not expected
    ]
    assert wrong == []
