"""Strategy-specific validations: pure functions over a finished slot's variables.

Each returns a reject reason (`invalid:<what>`) or None. They make the answer rule
honest: a strategy that keeps the seed's answer must keep its numbers, and one that
derives an answer must derive it from a given that really was in the seed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.strategies.parsing import normalise, numbers_in, same_number

UNKNOWN_X = re.compile(r"(?<![A-Za-z])[xX](?![A-Za-z])")


def _keeps_numbers(variables: Mapping[str, str]) -> bool:
    have = numbers_in(variables.get("problem", ""))
    return all(any(same_number(n, h) for h in have) for n in numbers_in(variables["seed_question"]))


def clean_answer(text: str) -> str:
    """An answer without surrounding dollar signs, spaces or a final full stop."""
    return text.strip().strip("$").strip().rstrip(".").strip()


def check_paraphrase(variables: Mapping[str, str]) -> str | None:
    """A paraphrase keeps the seed's answer, so it must keep every number of the seed."""
    return None if _keeps_numbers(variables) else "invalid:changed_numbers"


def check_distraction(variables: Mapping[str, str]) -> str | None:
    """Distractions are added on top: every seed number stays and the text grows."""
    if not _keeps_numbers(variables):
        return "invalid:changed_numbers"
    if len(variables.get("problem", "")) <= len(variables["seed_question"]) + 10:
        return "invalid:nothing_inserted"
    return None


def check_self_verification(variables: Mapping[str, str]) -> str | None:
    """The new unknown must be a given of the seed, and the seed's answer must be stated."""
    answer = clean_answer(variables.get("answer", ""))
    givens = numbers_in(variables["seed_question"])
    if not answer or not any(same_number(answer, g) for g in givens):
        return "invalid:answer_not_a_given"
    seed_answer = clean_answer(variables.get("seed_answer", ""))
    problem = variables.get("problem", "")
    if seed_answer and not (
        normalise(seed_answer) in normalise(problem)
        or any(same_number(seed_answer, n) for n in numbers_in(problem))
    ):
        return "invalid:seed_answer_missing"
    return None


def check_fobar(variables: Mapping[str, str]) -> str | None:
    """The masked value must be a number of the seed, and the rewrite must contain x."""
    masked = clean_answer(variables.get("masked", ""))
    if not masked or not any(
        same_number(masked, g) for g in numbers_in(variables["seed_question"])
    ):
        return "invalid:masked_not_in_seed"
    if UNKNOWN_X.search(variables.get("mask.problem", "")) is None:
        return "invalid:no_unknown"
    return None
