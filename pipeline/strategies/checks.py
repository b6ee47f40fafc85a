"""Strategy-specific validations: pure functions over a finished slot's variables.

Each returns a reject reason (`invalid:<what>`) or None. They make the answer rule
honest: a strategy that keeps the seed's answer must keep its numbers, and one that
derives an answer must derive it from a given that really was in the seed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.strategies.parsing import NUMBER, normalise, numbers_in, same_number

UNKNOWN_X = re.compile(r"(?<![A-Za-z])[xX](?![A-Za-z])")
# Variables the runner keeps from before a stage rewrote them: `prior:problem` is the
# problem a loop round started from. The colon keeps them out of every template.
PRIOR = "prior:"


def _keeps_numbers(variables: Mapping[str, str]) -> bool:
    have = numbers_in(variables.get("problem", ""))
    return all(any(same_number(n, h) for h in have) for n in numbers_in(variables["seed_question"]))


def clean_answer(text: str) -> str:
    """An answer without surrounding dollar signs, spaces or a final full stop."""
    return text.strip().strip("$").strip().rstrip(".").strip()


def plain_number(text: str) -> str | None:
    """`text` as a written number ("1,200" -> "1200") when it is exactly one, else None."""
    answer = clean_answer(text)
    return answer.replace(",", "") if NUMBER.fullmatch(answer) else None


def mentions(text: str, value: str) -> int:
    """How often `value` is written in `text`: as a number when it is one, else verbatim.

    Verbatim matching ignores spaces and `$`; values under 3 characters that are not
    numbers ("x", "A") are never counted, since they occur everywhere by chance.
    """
    number = plain_number(value)
    if number is not None:
        return sum(same_number(number, n) for n in numbers_in(text))
    needle = re.sub(r"[\s$]+", "", clean_answer(value))
    if len(needle) < 3:
        return 0
    return re.sub(r"[\s$]+", "", text).count(needle)


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
    """The new unknown must be a given of the seed that the new problem no longer states,
    and the seed's answer must be stated (MetaMath's backward question)."""
    answer = clean_answer(variables.get("answer", ""))
    seed_question = variables["seed_question"]
    givens = numbers_in(seed_question)
    if not answer or not any(same_number(answer, g) for g in givens):
        return "invalid:answer_not_a_given"
    problem = variables.get("problem", "")
    # The seed may state the value twice ("5 red and 5 blue"); masking one leaves one fewer.
    if mentions(problem, answer) >= mentions(seed_question, answer):
        return "invalid:masked_number_still_given"
    seed_answer = clean_answer(variables.get("seed_answer", ""))
    if seed_answer and not (
        normalise(seed_answer) in normalise(problem)
        or any(same_number(seed_answer, n) for n in numbers_in(problem))
    ):
        return "invalid:seed_answer_missing"
    return None


def check_hides_previous_answer(variables: Mapping[str, str]) -> str | None:
    """IQC: the composed problem contains the previous one as a hidden sub-step, so it must
    not state that sub-step's result (the previous answer) more often than the previous
    problem itself did."""
    previous = variables.get(PRIOR + "answer", "")
    if not clean_answer(previous):
        return None
    before = mentions(variables.get(PRIOR + "problem", ""), previous)
    if mentions(variables.get("problem", ""), previous) > before:
        return "invalid:states_sub_answer"
    return None


def check_iqc_answer(variables: Mapping[str, str]) -> str | None:
    """IQC's answer check: an independent solve of the composed problem must reach the
    composer's answer (MMIQC keeps an iteration only when the answers agree)."""
    from pipeline.answers import grade  # the one grader; its pool starts only if needed

    verdict = grade(variables.get("answer", ""), variables.get("check_solution", ""))
    if verdict.pred_extracted is None:
        return "invalid:check_no_answer"
    if verdict.equivalent is None:
        return "invalid:check_unverifiable"
    return None if verdict.equivalent else "invalid:check_disagrees"


def check_statement(variables: Mapping[str, str]) -> str | None:
    """Ask Me Anything: the statement holds the seed's answer and the slot's target number."""
    statement = variables.get("statement", "")
    answer = variables.get("seed_answer", "")
    if plain_number(answer) is not None and mentions(statement, answer) == 0:
        return "invalid:answer_not_in_statement"
    if mentions(statement, variables.get("target", "")) == 0:
        return "invalid:number_not_in_statement"
    return None


def check_hides_target(variables: Mapping[str, str]) -> str | None:
    """Ask Me Anything: the new problem asks for the target, so it states it once less."""
    target = variables.get("target", "")
    if mentions(variables.get("problem", ""), target) >= mentions(
        variables.get("statement", ""), target
    ):
        return "invalid:answer_in_problem"
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
