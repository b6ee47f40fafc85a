"""Splitting traces into steps: lines (GSM8K-style), sentences (LaTeX-heavy), offsets kept."""

from __future__ import annotations

import pytest

from pipeline.datasets.steps import SplitRule, prefix_text, resolve_mode, split_steps
from pipeline.errors import ConfigError

GSM = (
    "Janet's ducks lay 16 eggs per day.\n"
    "She eats 3 and bakes with 4, so 16 - 3 - 4 = 9 are left.\n\n"
    "She sells them at $2 each: 9 * 2 = 18.\n"
    "The answer is \\boxed{18}."
)
MATH = (
    "We need $x^2 - 5x + 6 = 0$. Factor it as $(x-2)(x-3) = 0$. So $x = 2$ or $x = 3$. "
    "The sum of the roots is $2 + 3 = 5$, which matches Vieta: $-b/a = 5$. "
    "Hence the answer is \\boxed{5}."
)


def test_gsm8k_style_traces_split_at_lines() -> None:
    steps = split_steps(GSM)
    assert resolve_mode(GSM, SplitRule()) == "lines"
    assert [s.text for s in steps] == [line for line in GSM.splitlines() if line]
    assert [s.index for s in steps] == [1, 2, 3, 4]
    assert all(GSM[s.start : s.end] == s.text for s in steps)
    assert prefix_text(GSM, steps, 2) == GSM[: steps[1].end]
    assert prefix_text(GSM, steps, 0) == ""


def test_latex_heavy_traces_split_at_sentences_not_inside_maths() -> None:
    steps = split_steps(MATH, SplitRule(min_chars=0))
    assert resolve_mode(MATH, SplitRule()) == "sentences"
    assert steps[0].text == "We need $x^2 - 5x + 6 = 0$."
    assert steps[-1].text == "Hence the answer is \\boxed{5}."
    assert all(MATH[s.start : s.end] == s.text for s in steps)
    decimals = split_steps(
        "So $x = 3.5$ and y = 2.25 here. Then the value of z is 4.",
        SplitRule(mode="sentences", min_chars=0),
    )
    assert [s.text for s in decimals] == [
        "So $x = 3.5$ and y = 2.25 here.",
        "Then the value of z is 4.",
    ]


def test_display_maths_across_lines_stays_in_one_step() -> None:
    text = "First we expand the product.\n\\[\n(a+b)^2\n= a^2 + 2ab + b^2.\n\\]\nSo the answer is \\boxed{a^2+2ab+b^2}."
    steps = split_steps(text, SplitRule(mode="sentences", min_chars=0))
    assert any(s.text.startswith("\\[") and s.text.endswith("\\]") for s in steps)


def test_short_fragments_merge_and_the_cap_holds() -> None:
    text = "Ok. So. Let a = 3 and b = 4 be the legs. Then c = 5. Done."
    steps = split_steps(text, SplitRule(mode="sentences", min_chars=20))
    assert all(len(s.text) >= 20 for s in steps[:-1])
    assert "".join(s.text for s in steps).replace(" ", "") == text.replace(" ", "")
    long = " ".join(f"Sentence number {i} says something long enough." for i in range(30))
    capped = split_steps(long, SplitRule(mode="sentences", max_steps=9))
    assert len(capped) == 9
    assert capped[0].start == 0 and capped[-1].end == len(long)
    assert all(a.end < b.start for a, b in zip(capped, capped[1:], strict=False))
    lines = split_steps("\n".join(f"line {i}" for i in range(12)), SplitRule(mode="lines"))
    assert len(lines) == 12  # the paper's per-line split has no cap by default
    assert (
        len(
            split_steps(
                "\n".join(f"line {i}" for i in range(12)), SplitRule(mode="lines", max_line_steps=5)
            )
        )
        == 5
    )


def test_one_paragraph_without_latex_splits_at_sentences() -> None:
    text = "Tom has 3 apples and buys 4 more apples today. He now has 3 + 4 = 7 apples in all."
    assert resolve_mode(text, SplitRule()) == "sentences"
    assert len(split_steps(text)) == 2


def test_blank_text_has_no_steps_and_bad_rules_fail() -> None:
    assert split_steps("  \n\n ") == []
    with pytest.raises(ConfigError, match="lines"):
        SplitRule(mode="words")
    with pytest.raises(ConfigError, match="max_steps"):
        SplitRule(max_steps=0)
