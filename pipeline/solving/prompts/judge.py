"""The LLM-judge solvability prompt and the parser that turns its reply into a score in [0, 1]."""

from __future__ import annotations

import re

from pipeline.strategies.template import render

JUDGE_SCALE = 10

# Asks for a score first, so a judge sampled with few tokens (default 64) still gives one.
JUDGE_TEMPLATE = """\
You review math word problems written for a training set. Rate how well-posed and solvable
the problem below is, on a scale from 0 to 10:
- 10: clear, self-contained, consistent, with exactly one correct final answer;
- 5: solvable but ambiguous or missing a minor detail;
- 0: contradictory, missing essential information, or not a math problem.
Do not solve the problem. Reply with the line "Score: N" (N an integer from 0 to 10), then at
most one sentence of reason.

Problem:
{{problem}}
"""

_SCORE_RE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?", re.IGNORECASE)
_FIRST_NUMBER_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?")


def render_judge_prompt(problem: str, template: str = JUDGE_TEMPLATE) -> str:
    """The judge prompt for one problem (`template` may be a user-edited copy)."""
    return render(template, {"problem": problem.strip()})


def parse_judge_score(reply: str | None, scale: int = JUDGE_SCALE) -> float | None:
    """The judge's score scaled to [0, 1]: "Score: 8" -> 0.8; None when the reply has none."""
    if not reply:
        return None
    match = _SCORE_RE.search(reply) or _FIRST_NUMBER_RE.search(reply)
    if match is None:
        return None
    value = float(match.group(1))
    denominator = float(match.group(2)) if match.group(2) else float(scale)
    if denominator <= 0 or value < 0 or value > denominator:
        return None
    return round(value / denominator, 4)
