"""Strict parsing of tagged replies: every unusable reply gets its reason."""

from __future__ import annotations

import pytest

from pipeline.strategies.definition import Stage
from pipeline.strategies.parsing import numbers_in, parse_reply, problem_reason

ONE = Stage("write", "", sections=("problem",))
TWO = Stage("invert", "", sections=("problem", "answer"))
WHOLE = Stage("sample", "", sections=("problem",), whole_reply=True)


def test_a_well_formed_reply_is_taken() -> None:
    parsed = parse_reply("Sure!\n<problem> What is 2+2? </problem>\n", "stop", ONE)
    assert parsed.reason is None
    assert parsed.sections == {"problem": "What is 2+2?"}
    parsed = parse_reply("<PROBLEM>a</ Problem><answer>4</answer>", "stop", TWO)
    assert parsed.sections == {"problem": "a", "answer": "4"}


@pytest.mark.parametrize(
    ("text", "finish", "reason"),
    [
        (None, "stop", "empty"),
        ("   \n ", "stop", "empty"),
        ("I'm sorry, but I can't help with that.", "stop", "refusal"),
        ("As an AI language model, I cannot write problems.", "stop", "refusal"),
        ("<problem>I cannot do this task.</problem>", "stop", "refusal"),
        ("<problem>A farmer has 3 cows and", "length", "truncated"),
        ("Here is a problem: what is 3+4?", "length", "truncated"),
        ("<problem>A farmer has 3 cows", "stop", "unclosed_section:problem"),
        ("What is 3+4?", "stop", "missing_section:problem"),
        ("<problem>a</problem><problem>b</problem>", "stop", "duplicate_section:problem"),
        ("<problem>   </problem>", "stop", "empty_section:problem"),
        ("<problem><problem>x</problem></problem>", "stop", "nested_section:problem"),
    ],
)
def test_unusable_replies_are_rejected_with_a_reason(
    text: str | None, finish: str, reason: str
) -> None:
    assert parse_reply(text, finish, ONE).reason == reason


def test_a_missing_second_section_is_named() -> None:
    assert parse_reply("<problem>x is 4</problem>", "stop", TWO).reason == "missing_section:answer"


def test_a_complete_reply_that_hit_the_length_limit_is_kept() -> None:
    assert parse_reply("<problem>What is 2+2?</problem> and then", "length", ONE).reason is None


def test_a_whole_reply_stage_takes_the_reply_itself() -> None:
    parsed = parse_reply("  What is 2+2, with <b>tags</b> kept?\n", "stop", WHOLE)
    assert parsed.reason is None and parsed.sections == {
        "problem": "What is 2+2, with <b>tags</b> kept?"
    }
    assert parse_reply("What is 2", "length", WHOLE).reason == "truncated"
    assert parse_reply("I'm sorry, I cannot.", "stop", WHOLE).reason == "refusal"
    assert parse_reply("", "stop", WHOLE).reason == "empty"


def test_problem_checks() -> None:
    seed = "Tom has 12 apples. How many?"
    assert problem_reason("tom has 12   apples. how many", seed) == "copied_seed"
    assert problem_reason("Too short", seed) == "too_short"
    assert problem_reason("x" * 7000, seed) == "too_long"
    assert problem_reason("Tom has 13 apples. How many now?", seed) is None


def test_numbers_are_read_with_separators() -> None:
    assert numbers_in("Pay $1,200 for 3.5 kg and -4 more, x2 not") == ["1200", "3.5", "-4"]


def test_hostile_replies_stay_cheap_and_are_rejected() -> None:
    # One linear pass over the tags: 20,000 openings would take minutes to scan pairwise.
    assert parse_reply("<problem>" * 20_000, "stop", ONE).reason == "unclosed_section:problem"
    assert parse_reply("<problem>x" + "</problem>" * 10_000, "stop", ONE).sections == {
        "problem": "x"
    }
    assert parse_reply("a" * 300_000, "stop", ONE).reason == "too_long"
    assert parse_reply(
        "</problem>stray<problem>Fine text here</problem>", "stop", ONE
    ).sections == {"problem": "Fine text here"}


def test_untagged_replies_are_taken_only_when_asked() -> None:
    reply = "The new problem is:\nA shop sells 4 pens for 3 dollars. What do 12 pens cost?"
    assert parse_reply(reply, "stop", ONE).reason == "missing_section:problem"
    parsed = parse_reply(reply, "stop", ONE, accept_untagged=True)
    assert parsed.untagged and parsed.sections == {
        "problem": "A shop sells 4 pens for 3 dollars. What do 12 pens cost?"
    }
    # Only a complete, tag-free reply for a one-section stage; refusals stay refusals.
    assert parse_reply(reply, "length", ONE, accept_untagged=True).reason == "truncated"
    assert parse_reply("<problem>half", "stop", ONE, accept_untagged=True).reason == (
        "unclosed_section:problem"
    )
    assert parse_reply(reply, "stop", TWO, accept_untagged=True).reason == "missing_section:problem"
    assert parse_reply("I'm sorry, no.", "stop", ONE, accept_untagged=True).reason == "refusal"


def test_a_section_that_only_echoes_the_instructions_is_rejected() -> None:
    from pipeline.strategies.parsing import echo_reason

    template = "Rewrite it.\n<problem>the rewritten problem</problem>\nSeed: {{seed}}"
    assert echo_reason({"problem": "The rewritten problem"}, template) == "echoed_prompt"
    assert echo_reason({"problem": "A train leaves at noon. When?"}, template) is None
    assert echo_reason({"answer": "12"}, "answer 12 here") is None  # short answers pass
