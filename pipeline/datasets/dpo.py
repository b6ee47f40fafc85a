"""Plain DPO pairs: a correct solution against an incorrect student sample (the paper's baseline).

Setlur et al. (2024) pair a correct with a random incorrect solution of the same problem
(rejected traces sampled from the SFT student, reference model = the SFT student) and find
it does not beat SFT; per-step DPO is the fix. We make one pair per incorrect trace (up to
`pairs_per_problem`), so plain and per-step DPO sets are comparable in size, and let the
chosen side be picked by a rule: random (the paper), most similar to the rejected trace, or
most different (rapidfuzz's normalised Indel similarity). Every choice is seeded by the
problem, so the same inputs give the same pairs.

Chosen candidates are the student's own correct traces; where a problem has none, the
teacher's correct solutions stand in (counted in the card as `teacher_chosen`), since the
paper's positives include the SFT data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from pipeline.config.schema import DPO_PAIRINGS
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Candidate:
    """A solution text that can stand on one side of a pair."""

    text: str
    source: str  # student | teacher
    index: int  # sample order within its source


@dataclass(frozen=True)
class DpoPair:
    """One plain DPO pair for a problem."""

    problem: str
    chosen: Candidate
    rejected: Candidate
    similarity: float  # 0..100, rapidfuzz ratio of chosen and rejected


def check_pairing(pairing: str) -> None:
    if pairing not in DPO_PAIRINGS:
        raise ConfigError(f"DPO pairing '{pairing}' is unknown: use {', '.join(DPO_PAIRINGS)}")


def pair_problem(
    problem_key: str,
    problem: str,
    correct: Sequence[Candidate],
    incorrect: Sequence[Candidate],
    *,
    pairing: str = "random",
    pairs_per_problem: int = 4,
    seed: int = 0,
) -> list[DpoPair]:
    """Pairs for one problem: each of its first incorrect traces with a chosen correct one."""
    check_pairing(pairing)
    if not correct or not incorrect:
        return []
    rng = random.Random(f"{seed}:{problem_key}")  # str seeds hash stably across runs
    pairs = []
    for rejected in incorrect[:pairs_per_problem]:
        scores = [fuzz.ratio(c.text, rejected.text) for c in correct]
        if pairing == "random":
            pick = rng.randrange(len(correct))
        elif pairing == "most_similar":
            pick = max(range(len(correct)), key=lambda i: (scores[i], -i))
        else:
            pick = min(range(len(correct)), key=lambda i: (scores[i], i))
        pairs.append(DpoPair(problem, correct[pick], rejected, scores[pick]))
    return pairs
