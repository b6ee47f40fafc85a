"""The solver and judge prompt templates (project-authored), and their rendering.

Templates are Python constants so they ship with the package; users edit copies in the
`templates` table (strategy 'solver' / 'judge'), which take precedence when present.
"""

from __future__ import annotations

from pipeline.solving.prompts.judge import JUDGE_TEMPLATE, parse_judge_score, render_judge_prompt
from pipeline.solving.prompts.solver import SOLVER_TEMPLATE, render_solver_prompt

__all__ = [
    "JUDGE_TEMPLATE",
    "SOLVER_TEMPLATE",
    "parse_judge_score",
    "render_judge_prompt",
    "render_solver_prompt",
]
