"""Strict parsing of tagged replies, and the validations every new problem passes.

A stage asks for sections like `<problem>...</problem>`. A reply is accepted only
when every required section is there exactly once, closed, non-empty and not a
refusal; otherwise it gets one reject reason, which is stored with the problem:

  empty, truncated, refusal, missing_section:<name>, unclosed_section:<name>,
  duplicate_section:<name>, empty_section:<name>, nested_section:<name>,
  echoed_prompt, copied_seed, too_short, too_long, and strategy checks (invalid:<what>).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.strategies.definition import Stage
from pipeline.strategies.template import PLACEHOLDER

REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|i can(?:no|'|’)t|i cannot|i won'?t|"
    r"i will not|i am unable|i'?m unable|i am not able|i'?m not able|as an ai\b)",
    re.IGNORECASE,
)
MIN_PROBLEM_CHARS = 15
MAX_PROBLEM_CHARS = 6000
MAX_REPLY_CHARS = 200_000  # longer replies are rejected unread (hostile servers)
ANY_TAG = re.compile(r"<\s*/?\s*[A-Za-z_]+\s*>")
LEAD_IN = re.compile(r"^[^\n]{0,60}:[ \t]*\n")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")


@dataclass
class Parsed:
    """The sections taken from one reply, or why the reply was rejected."""

    sections: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    untagged: bool = False  # taken whole from a reply without tags (accept_untagged)


def _tags(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    return re.compile(rf"<\s*(/?)\s*{escaped}\s*>", re.IGNORECASE)


def _sections(name: str, text: str) -> tuple[list[tuple[str, bool]], bool]:
    """Closed sections called `name` as (content, has_nested_opening), and whether one is left
    open. One linear pass over the tags, so hostile replies full of tags stay cheap."""
    found: list[tuple[str, bool]] = []
    open_at: int | None = None
    nested = False
    for match in _tags(name).finditer(text):
        closing = bool(match.group(1))
        if not closing:
            if open_at is None:
                open_at, nested = match.end(), False
            else:
                nested = True
        elif open_at is not None:
            found.append((text[open_at : match.start()], nested))
            open_at = None
    return found, open_at is not None


def is_refusal(text: str) -> bool:
    """True when `text` opens like a refusal ("I'm sorry, I can't ...")."""
    return REFUSAL.search(text.strip()) is not None


def parse_reply(
    text: str | None, finish_reason: str | None, stage: Stage, *, accept_untagged: bool = False
) -> Parsed:
    """The sections of `stage` found in `text`, strictly; `reason` set when rejected.

    With `accept_untagged`, a complete reply holding no tag at all stands for the stage's
    single required section (minus a short lead-in line such as "The new problem is:").
    A `whole_reply` stage takes any complete reply as its one section.
    """
    if text is None or not text.strip():
        return Parsed(reason="empty")
    if len(text) > MAX_REPLY_CHARS:
        return Parsed(reason="too_long")
    if is_refusal(text):
        return Parsed(reason="refusal")
    if stage.whole_reply:
        if finish_reason == "length":
            return Parsed(reason="truncated")
        return Parsed(sections={stage.sections[0]: text.strip()})
    if accept_untagged and (untagged := _untagged(text, finish_reason, stage)) is not None:
        return untagged
    parsed = Parsed()
    for name in (*stage.sections, *stage.optional):
        required = name in stage.sections
        matches, left_open = _sections(name, text)
        if not matches:
            if not required:
                continue
            if finish_reason == "length":
                return Parsed(reason="truncated")
            if left_open:
                return Parsed(reason=f"unclosed_section:{name}")
            return Parsed(reason=f"missing_section:{name}")
        if len(matches) > 1:
            return Parsed(reason=f"duplicate_section:{name}")
        content, nested = matches[0]
        reason = f"nested_section:{name}" if nested else _content_reason(name, content)
        if reason is not None and required:
            return Parsed(reason=reason)
        parsed.sections[name] = content.strip()
    return parsed


def _untagged(text: str, finish_reason: str | None, stage: Stage) -> Parsed | None:
    if len(stage.sections) != 1 or stage.optional or finish_reason == "length":
        return None
    if ANY_TAG.search(text) is not None:
        return None
    body = LEAD_IN.sub("", text.strip(), count=1).strip()
    if not body:
        return Parsed(reason=f"empty_section:{stage.sections[0]}")
    return Parsed(sections={stage.sections[0]: body}, untagged=True)


def _content_reason(name: str, content: str) -> str | None:
    if not content.strip():
        return f"empty_section:{name}"
    if is_refusal(content):
        return "refusal"
    return None


def normalise(text: str) -> str:
    """Lowercase, whitespace collapsed, edge punctuation dropped: for copy detection."""
    return re.sub(r"\s+", " ", text).strip().strip(".?!").strip().lower()


def numbers_in(text: str) -> list[str]:
    """The numbers written in digits in `text`, thousands separators removed."""
    return [m.group(0).replace(",", "") for m in NUMBER.finditer(text)]


def problem_reason(problem: str, seed_question: str | None) -> str | None:
    """Why a finished problem is unusable in general (copied, too short or long), or None."""
    if not problem.strip():
        return "empty_section:problem"
    if len(problem.strip()) < MIN_PROBLEM_CHARS:
        return "too_short"
    if len(problem) > MAX_PROBLEM_CHARS:
        return "too_long"
    if seed_question and normalise(problem) == normalise(seed_question):
        return "copied_seed"
    return None


def echo_reason(sections: dict[str, str], template: str) -> str | None:
    """`echoed_prompt` when a section only repeats words of the instructions.

    Small models often answer with a label from the prompt ("The rewritten problem");
    a section of three or more words found verbatim in the template is such an echo.
    """
    instructions = normalise(PLACEHOLDER.sub(" ", template))
    for content in sections.values():
        text = normalise(content)
        if len(text.split()) >= 3 and text in instructions:
            return "echoed_prompt"
    return None


def same_number(a: str, b: str) -> bool:
    """True when two written numbers are the same value (3 == 3.0 == 3,000/1000 not)."""
    try:
        return float(a.replace(",", "")) == float(b.replace(",", ""))
    except ValueError:
        return normalise(a) == normalise(b)
