"""The teacher's solving prompt: step-by-step reasoning that ends in one boxed answer."""

from __future__ import annotations

from pipeline.strategies.template import render

# Ends in \boxed{} so the extractor's first and most reliable rule applies. `{{problem}}` is
# filled by the safe one-pass renderer (no attribute access, nothing executed), since users
# edit this template.
SOLVER_TEMPLATE = """\
Solve the following math problem. Reason step by step, showing each calculation on its own line.
When you are done, write the final answer alone inside \\boxed{} on the last line, as a number or
a simplified expression with no units.

Problem:
{{problem}}

Solution:
"""


def render_solver_prompt(problem: str, template: str = SOLVER_TEMPLATE) -> str:
    """The solving prompt for one problem (`template` may be a user-edited copy)."""
    return render(template, {"problem": problem.strip()})
