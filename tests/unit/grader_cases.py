"""The grader's own categorised cases: (category, gold text, model output, expected verdict).

Written for this project (issue 15, section 3; issue 16 item 14; issue 17 item 11), in the
style public graders are tested with: the gold as a dataset stores it (bare, in `$...$`, in
a sentence or display maths), the prediction as a model writes it. Each category holds
cases that must match and cases that must not. Shared by `test_answers_hard_cases.py` and
`tests/benchmarks/bench_grade.py` (which also scores math-verify on them).
"""

from __future__ import annotations

Case = tuple[str, str, str, bool]

MULTIPLE_BOXED: list[Case] = [
    ("multiple_boxed", "$2, 3$", "The roots are $\\boxed{2}$ and $\\boxed{3}$.", True),
    ("multiple_boxed", "$\\{2, 3\\}$", "So $x = \\boxed{3}$ or $x = \\boxed{2}$.", True),
    ("multiple_boxed", "$-1, 4$", "Solutions: $\\boxed{-1}, \\boxed{4}$", True),
    ("multiple_boxed", "$1, 2, 3$", "They are \\boxed{1}, \\boxed{2}, and \\boxed{3}.", True),
    ("multiple_boxed", "$\\frac{1}{2}, -3$", "We get $\\boxed{-3}$ and $\\boxed{\\frac12}$.", True),
    ("multiple_boxed", "$2, 3$", "The roots are $\\boxed{2}$ and $\\boxed{5}$.", False),
    ("multiple_boxed", "$2, 3$", "The only root is $\\boxed{2}$.", False),
    (
        "multiple_boxed",
        "$5$",
        "First $\\boxed{3}$ apples.\n\nIn the end she has $\\boxed{5}$.",
        True,
    ),
    ("multiple_boxed", "$-2, 2$", "Thus $x=\\boxed{2}$ or $x=\\boxed{-2}$.", True),
    ("multiple_boxed", "$-2, 2$", "Thus $x=\\boxed{2}$ or $x=\\boxed{-3}$.", False),
    ("multiple_boxed", "$0, 1$", "$\\boxed{0}$ and $\\boxed{1}$", True),
    ("multiple_boxed", "$\\sqrt{2}, -\\sqrt{2}$", "$\\boxed{\\pm\\sqrt{2}}$", True),
]

DECIMAL_COMMA: list[Case] = [
    ("decimal_comma", "2.74", "The answer is 2,74", True),
    ("decimal_comma", "1000.99", "The total is $\\boxed{1000,99}$", True),
    ("decimal_comma", "2,74", "So it costs 2.74 euros. The answer is 2.74", True),
    ("decimal_comma", "3,5", "The answer is $3.5$.", True),
    ("decimal_comma", "12,5", "#### 12.5", True),
    ("decimal_comma", "0,5", "The probability is $\\boxed{\\frac{1}{2}}$.", True),
    ("decimal_comma", "2.74", "The answer is 2,75", False),
    ("decimal_comma", "3,5", "The answer is $35$.", False),
    ("decimal_comma", "1,000", "#### 1000", True),
    ("decimal_comma", "3.14", "The answer is 3,141", False),
    ("decimal_comma", "0.25", "\\boxed{0,25}", True),
    ("decimal_comma", "7,05", "\\boxed{7.5}", False),
]

EQUATIONS: list[Case] = [
    ("equations", "$k = 45, n = 2$", "Therefore $\\boxed{n = 2, k = 45}$.", True),
    ("equations", "$x = 2, y = 3$", "\\boxed{x=2,\\ y=3}", True),
    ("equations", "$x = 2, y = 3$", "\\boxed{x=3, y=2}", False),
    ("equations", "$a=1, b=-2, c=5$", "\\boxed{a = 1,\\quad b = -2,\\quad c = 5}", True),
    ("equations", "$x = 4$", "The answer is $\\boxed{4}$.", True),
    ("equations", "$k = 45, n = 2$", "\\boxed{k=45}", False),
    ("equations", "$x=1, y=2$", "\\boxed{x = 1;\\ y = 2}", True),
    ("equations", "$x = \\frac{1}{2}, y = 3$", "\\boxed{y=3, x=0.5}", True),
    ("equations", "$x_1 = 3, x_2 = -1$", "\\boxed{x_2 = -1, x_1 = 3}", True),
    ("equations", "$x_1 = 3, x_2 = -1$", "\\boxed{x_1 = -1, x_2 = 3}", False),
    ("equations", "$m = 6, n = 8$", "So \\boxed{m=6 \\text{ and } n=8}.", True),
    ("equations", "$p = 7, q = 11$", "\\boxed{p = 7,\\ q = 13}", False),
]

TEXT: list[Case] = [
    ("text", "\\text{Monday}", "The answer is $\\boxed{\\text{Monday}}$.", True),
    ("text", "\\text{(C)}", "The correct option is $\\boxed{C}$.", True),
    ("text", "\\text{yes}", "$\\boxed{\\text{Yes}}$", True),
    ("text", "\\text{odd}", "$\\boxed{\\text{even}}$", False),
    ("text", "\\text{Devon}", "\\boxed{\\textbf{Devon}}", True),
    ("text", "\\text{even}", "\\boxed{\\text{neither}}", False),
    ("text", "Tuesday", "So the party is on \\boxed{\\text{Tuesday}}.", True),
    ("text", "\\text{no}", "\\boxed{\\text{No}}.", True),
    ("text", "\\text{(B)}", "\\boxed{\\text{(D)}}", False),
    ("text", "\\text{North America}", "\\boxed{\\text{north america}}", True),
]

GOLD_IN_PROSE: list[Case] = [
    ("gold_in_prose", "The answer is $\\frac{3}{4}$.", "\\boxed{0.75}", True),
    ("gold_in_prose", "So the total is $42$ apples.", "#### 42", True),
    ("gold_in_prose", "$$\n x = \\frac{\\sqrt{5}}{2}\n$$", "\\boxed{\\frac{\\sqrt5}{2}}", True),
    ("gold_in_prose", "\\[\n\\frac{7}{2}\n\\]", "The answer is $\\boxed{3.5}$", True),
    (
        "gold_in_prose",
        "Therefore the area is $\\boxed{12\\pi}$ square units.",
        "$\\boxed{12\\pi}$",
        True,
    ),
    ("gold_in_prose", "The smallest such number is 105.", "The answer is 105", True),
    ("gold_in_prose", "The answer is $\\frac{3}{4}$.", "\\boxed{\\frac{4}{3}}", False),
    ("gold_in_prose", "So the total is $42$ apples.", "#### 24", False),
    ("gold_in_prose", "$$\n y = 2x + 1\n$$", "\\boxed{y = 2x+1}", True),
    ("gold_in_prose", "\\[\n 2\\sqrt{3}\n\\]", "\\boxed{\\sqrt{12}}", True),
    ("gold_in_prose", "\\[\n 2\\sqrt{3}\n\\]", "\\boxed{3\\sqrt{2}}", False),
    ("gold_in_prose", "She ends with 18 dollars.", "The answer is $18.", True),
]

GOLD_EXTRACTION: list[Case] = [
    ("gold_extraction", "5!", "The answer is 120.", True),
    ("gold_extraction", "5!", "The answer is 5.", False),
    ("gold_extraction", "3!", "\\boxed{6}", True),
    ("gold_extraction", "$4!$", "\\boxed{24}", True),
    (
        "gold_extraction",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}",
        True,
    ),
    (
        "gold_extraction",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}}",
        False,
    ),
    (
        "gold_extraction",
        "\\begin{pmatrix}\n 2 \\\\\n -1 \\\\\n 5 \\\\\n 0 \\\\\n 7 \\\\\n 3 \\\\\n 1 \\\\\n 9\n\\end{pmatrix}",
        "\\boxed{9}",
        False,
    ),
    (
        "gold_extraction",
        "\\begin{pmatrix}\n 2 \\\\\n -1 \\\\\n 5 \\\\\n 0 \\\\\n 7 \\\\\n 3 \\\\\n 1 \\\\\n 9\n\\end{pmatrix}",
        "\\boxed{\\begin{pmatrix} 2 \\\\ -1 \\\\ 5 \\\\ 0 \\\\ 7 \\\\ 3 \\\\ 1 \\\\ 9 \\end{pmatrix}}",
        True,
    ),
    ("gold_extraction", "\\begin{pmatrix} -2 \\\\ 3 \\end{pmatrix}", "\\boxed{3}", False),
    ("gold_extraction", "10!", "\\boxed{3628800}", True),
]

PROSE_ANSWERS: list[Case] = [
    ("prose_answer", "12", "The answer is to the total cost.", False),
    ("prose_answer", "12", "The answer is simply that she has more apples than Tom.", False),
    ("prose_answer", "7", "The final answer is the number of red balls, which is 7.", True),
    ("prose_answer", "7", "Final answer: seven more than before", False),
    ("prose_answer", "15", "The answer is: 15 marbles.", True),
    ("prose_answer", "\\text{B}", "The answer is (B).", True),
]

PLAIN: list[Case] = [
    ("plain", "18", "She sells 16 - 3 - 4 = 9 eggs.\n#### 18", True),
    ("plain", "18", "The answer is 18 dollars.", True),
    ("plain", "18", "So she earns $18.00 every day.\nThe answer is $18.00", True),
    ("plain", "0.25", "The answer is 25%", True),
    ("plain", "\\frac{1}{2}", "\\boxed{0.5}", True),
    ("plain", "\\frac{\\sqrt{2}}{2}", "\\boxed{\\sqrt{2}/2}", True),
    ("plain", "(1, 2]", "\\boxed{(1,2]}", True),
    ("plain", "x^2+2x+1", "\\boxed{(x+1)^2}", True),
    ("plain", "3", "\\boxed{4}", False),
    ("plain", "\\pi", "\\boxed{3.14}", False),
    ("plain", "1,234", "#### 1234", True),
    ("plain", "(2, -1)", "\\boxed{(2,-1)}", True),
    ("plain", "(2, -1)", "\\boxed{(-1,2)}", False),
    ("plain", "\\{1, 2\\}", "\\boxed{\\{2, 1\\}}", True),
    ("plain", "[0, 1)", "\\boxed{[0,1]}", False),
    ("plain", "90^\\circ", "\\boxed{90}", True),
]

CASES: list[Case] = (
    MULTIPLE_BOXED
    + DECIMAL_COMMA
    + EQUATIONS
    + TEXT
    + GOLD_IN_PROSE
    + GOLD_EXTRACTION
    + PROSE_ANSWERS
    + PLAIN
)
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c[0] for c in CASES))
