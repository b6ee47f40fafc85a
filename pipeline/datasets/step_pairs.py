"""Per-step DPO pairs from valued traces (Setlur et al. 2024, section 5; Self-Explore variant).

Default pair: prompt = the problem, chosen = a correct full solution, rejected = the trace
cut after its critical step c. The chosen solution is a given one when the caller has it and
asks for it (`prefer_given`), else the correct rollout from the prefix before c appended to
that prefix: one always exists, since Q(c - 1) = 1, and it is self-generated, which the
paper prefers. Because it shares the prefix with the rejected side, the pair differs from
step c on, which is the credit assignment per-step DPO is after.

Self-Explore variant (Hwang et al. 2024): prompt = the problem and the steps before c,
chosen = the correct continuation alone, rejected = step c alone. As plain strings the
prompt is the problem, a blank line, then the prefix. TRL cannot take a conversational
prompt that ends inside the assistant turn (its template would open a second assistant
turn), so conversational records of the variant put the shared prefix on both sides
instead; under DPO's sigmoid loss that is the same objective (the prefix's log-ratio
cancels between chosen and rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.config.schema import STEP_VARIANTS
from pipeline.datasets.formats import preference_record
from pipeline.datasets.rollouts import ValuedTrace
from pipeline.errors import ConfigError

PAIR_VARIANTS = STEP_VARIANTS  # default | self_explore, named once with the config
PROMPT_JOIN = "\n\n"  # between the problem and the assistant prefix in a plain-string prompt


@dataclass(frozen=True)
class StepPair:
    """One per-step DPO pair and where it came from.

    `prefix` is the assistant text the prompt ends with (variant only; "" otherwise);
    `chosen_source` is "rollout" or "given".
    """

    key: str
    problem: str
    critical_step: int
    prompt: str
    prefix: str
    chosen: str
    rejected: str
    chosen_source: str
    variant: str

    def record(self, fmt: str) -> dict[str, Any]:
        """The pair as a TRL preference record ("messages" or "prompt-completion")."""
        if fmt == "messages" and self.prefix:  # see the module docstring
            return preference_record(
                fmt, self.problem, self.prefix + self.chosen, self.prefix + self.rejected
            )
        if fmt == "messages":
            return preference_record(fmt, self.problem, self.chosen, self.rejected)
        return preference_record(fmt, self.prompt, self.chosen, self.rejected)


def check_variant(variant: str) -> None:
    if variant not in PAIR_VARIANTS:
        raise ConfigError(f"pair variant '{variant}' is unknown: use {', '.join(PAIR_VARIANTS)}")


def build_pair(
    valued: ValuedTrace,
    *,
    variant: str = "default",
    given: str | None = None,
    prefer_given: bool = False,
) -> StepPair | None:
    """The pair for a trace with a critical step (None when it has none)."""
    check_variant(variant)
    c = valued.critical_step
    if c is None:
        return None
    before = valued.prefix(c - 1)
    rejected_full = valued.prefix(c)
    correct = valued.correct_rollouts(c - 1)
    continuation = correct[0].text if correct else None
    problem = valued.trace.question
    if variant == "self_explore":
        if continuation is None:
            return None
        step_c = rejected_full[len(before) :]
        prompt = problem + PROMPT_JOIN + before if before else problem
        return StepPair(
            valued.trace.key, problem, c, prompt, before, continuation, step_c, "rollout", variant
        )
    if given is not None and (prefer_given or continuation is None):
        chosen, source = given, "given"
    elif continuation is not None:
        chosen, source = before + continuation, "rollout"
    else:
        return None
    return StepPair(
        valued.trace.key, problem, c, problem, "", chosen, rejected_full, source, variant
    )
