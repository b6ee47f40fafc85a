"""The selection policies: what each keeps and which solution it trains on, in ONE table.

Each `Rule` holds a policy's problem condition twice, side by side: as SQL over the `scores`
row (alias `s`) and as a numpy mask over a `SignalIndex` snapshot; a unit test checks the two
agree on every policy. A rule also names the solutions that may train (`Target`, SQL over
a `solutions` row `x`) and the order that picks one of them. A problem is kept only if it
has such a candidate, complete unless truncation is allowed, so every kept problem yields
exactly one training example and the filter, blend and export count the same problems.

Readings of the FLAMES policies (Seegmiller et al. 2025, which names them but does not
define every detail):
- `first` is the paper's "none/first", the coverage arm that won: every problem with a
  teacher solution, answer extracted or not, trained on its first solution. Departure: a
  solution cut at the token limit never trains unless allowed, so `first` takes the first
  complete solution (the paper's 2048-token budget rarely cut; ours can).
- `majority_first` keeps a problem whose first solution agrees with a strict majority
  (a reliability filter); `majority_or_first` is the coverage-keeping reading: every solved
  problem, trained on a majority solution where a strict majority exists, else the first.
- `judge` is the "solvability judge": kept when the judge's 0..10 rating, stored as 0..1,
  is at least `JUDGE_SOLVABLE` (the prompt's "solvable" midpoint). `judge_min` is a separate
  threshold that applies to any policy.
- `judge_reward` is "solvability judge + reward model best-of-3": judged solvable, trained
  on the highest-reward solution of the k sampled (k = 3 in the paper; `solve.k` here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.config.schema import Policy

if TYPE_CHECKING:
    from pipeline.selection.index import SignalIndex

Mask = np.ndarray[Any, np.dtype[np.bool_]]

# The judge prompt's scale midpoint ("5: solvable but ambiguous"), as stored (0..1).
JUDGE_SOLVABLE = 0.5
# The finish reason of a solution cut at the token limit (OpenAI, vLLM and transformers).
TRUNCATED = "length"
# SQL over a solutions row `x`: the solution ended on its own (an unknown reason counts as
# complete, for rows stored before finish reasons were).
COMPLETE_SQL = f"COALESCE(x.finish_reason, '') != '{TRUNCATED}'"


def is_truncated(finish_reason: str | None) -> bool:
    """Whether a solution was cut at the token limit (never a training target by default)."""
    return finish_reason == TRUNCATED


class Target(StrEnum):
    """Which of a problem's solutions may be its training solution."""

    ANY = "any"
    MAJORITY = "majority"  # in the majority answer group
    CORRECT = "correct"  # verified against the reference answer
    REWARDED = "rewarded"  # scored by the reward model


# Target -> SQL over `x` (solutions) and `s` (scores). The majority group's stored answer is
# the exact string of its earliest member, so at least one member matches it; a member whose
# equivalent answer is written differently ("0.5" for "1/2") is not a candidate.
TARGET_SQL: dict[Target, str] = {
    Target.ANY: "1",
    Target.MAJORITY: "x.extracted_answer = s.majority_answer",
    Target.CORRECT: "x.verdict = 'correct'",
    Target.REWARDED: "x.reward IS NOT NULL",
}


@dataclass(frozen=True)
class Rule:
    """One policy: its problem condition (SQL and numpy), its training target and order."""

    summary: str
    problem_sql: str
    problem_mask: Callable[[SignalIndex], Mask]
    target: Target
    order_sql: str = "x.sample_index, x.id"


def _majority(index: SignalIndex) -> Mask:
    with np.errstate(invalid="ignore"):
        mask: Mask = index.scores["majority_share"] > 0.5
    return mask


def _judged_solvable(index: SignalIndex) -> Mask:
    with np.errstate(invalid="ignore"):
        mask: Mask = index.scores["judge_score"] >= JUDGE_SOLVABLE
    return mask


def _everything(index: SignalIndex) -> Mask:
    return np.ones(index.size, dtype=bool)


# THE table. SQL and numpy forms of each policy side by side (tests/unit/test_signal_index.py
# checks they agree); order_sql picks the training solution among the target's candidates.
RULES: dict[Policy, Rule] = {
    Policy.FIRST: Rule(
        "every solved problem, its first complete solution",
        "1",
        _everything,
        Target.ANY,
    ),
    Policy.STRICT: Rule(
        "all sampled answers agree",
        "s.all_agree = 1",
        lambda index: index.all_agree,
        Target.ANY,
    ),
    Policy.MAJORITY: Rule(
        "a strict majority of answers agree; a majority solution trains",
        "s.majority_share > 0.5",
        _majority,
        Target.MAJORITY,
    ),
    Policy.MAJORITY_FIRST: Rule(
        "the first solution is in a strict majority",
        "s.first_is_majority = 1",
        lambda index: index.first_is_majority,
        Target.MAJORITY,
    ),
    Policy.MAJORITY_OR_FIRST: Rule(
        "every solved problem; a majority solution where one exists, else the first",
        "1",
        _everything,
        Target.ANY,
        "COALESCE(x.extracted_answer = s.majority_answer AND s.majority_share > 0.5, 0) DESC, "
        "x.sample_index, x.id",
    ),
    Policy.REFERENCE_VERIFIED: Rule(
        "the majority answer agrees with the seed's reference answer; a verified solution trains",
        "s.reference_agrees = 1",
        lambda index: index.reference_agrees,
        Target.CORRECT,
    ),
    Policy.JUDGE: Rule(
        f"the judge rates the problem solvable (score >= {JUDGE_SOLVABLE:g})",
        f"s.judge_score >= {JUDGE_SOLVABLE}",
        _judged_solvable,
        Target.ANY,
    ),
    Policy.JUDGE_REWARD: Rule(
        "judged solvable; the reward model's best solution trains",
        f"s.judge_score >= {JUDGE_SOLVABLE}",
        _judged_solvable,
        Target.REWARDED,
        "x.reward DESC, x.sample_index, x.id",
    ),
}
if set(RULES) != set(Policy):  # a policy named in the config without a rule here
    raise RuntimeError(f"selection rules missing for {set(Policy) - set(RULES)}")


def rule(policy: Policy | str) -> Rule:
    """The rule of `policy`."""
    return RULES[Policy(policy)]


def needs_judge(policy: Policy | str, judge_min: float | None) -> bool:
    """Whether a selection reads the judge's score (so the judge must run first)."""
    return judge_min is not None or Policy(policy) in (Policy.JUDGE, Policy.JUDGE_REWARD)


def needs_reward(policy: Policy | str) -> bool:
    """Whether a selection reads reward-model scores (so `flames reward` must run first)."""
    return Policy(policy) is Policy.JUDGE_REWARD


def candidate_sql(target: Target, *, allow_truncated: bool) -> str:
    """SQL over `x`/`s`: this solution may train under `target`."""
    condition = TARGET_SQL[target]
    return condition if allow_truncated else f"{condition} AND {COMPLETE_SQL}"


def has_candidate_sql(target: Target, *, allow_truncated: bool) -> str:
    """SQL over `p`/`s`: the problem has a solution that may train (correlated EXISTS)."""
    return (
        "EXISTS (SELECT 1 FROM solutions x WHERE x.problem_id = p.id AND "
        f"{candidate_sql(target, allow_truncated=allow_truncated)})"
    )


def training_solution_sql(policy: Policy | str, *, allow_truncated: bool) -> str:
    """SQL over `p`: the id of the solution `policy` trains on (NULL when none may)."""
    found = rule(policy)
    # The subquery joins its own `s`: SQLite cannot see an outer alias from an ORDER BY.
    return (
        "(SELECT x.id FROM solutions x LEFT JOIN scores s ON s.problem_id = x.problem_id "
        f"WHERE x.problem_id = p.id AND {candidate_sql(found.target, allow_truncated=allow_truncated)} "
        f"ORDER BY {found.order_sql} LIMIT 1)"
    )
