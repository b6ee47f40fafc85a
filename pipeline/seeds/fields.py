"""Mapping a source record's fields onto a seed: question, final answer, worked solution.

Real files name their fields differently (question/problem/input, answer/final_answer/
target, GSM8K `#### N`, MATH `\\boxed{}` inside solutions, list-valued answers), so the
mapping is detected from the first record and applied to all.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.answers.extraction import extract_reference
from pipeline.errors import InputError

QUESTION_FIELDS = (
    "question",
    "problem",
    "Question",
    "Problem",
    "input",
    "query",
    "prompt",
    "instruction",
    "text",
)
# Context that real sets keep apart from the question (SVAMP/ASDiv "Body", OlympiadBench
# "context"); without it the question is unanswerable, so it is prepended.
CONTEXT_FIELDS = ("body", "Body", "context", "passage")
ANSWER_FIELDS = (
    "answer",
    "final_answer",
    "Answer",
    "target",
    "answers",
    "label",
    "ground_truth",
    "gt",
    "expected_answer",
    "output",
)
SOLUTION_FIELDS = (
    "solution",
    "Solution",
    "rationale",
    "explanation",
    "response",  # MetaMathQA (query/response)
    "generated_solution",  # OpenMathInstruct
    "completion",
)
# A chat record (question in the first user turn, solution in the assistant's): NuminaMath,
# OpenR1 and most SFT sets carry one.
CHAT_FIELDS = ("messages", "conversations")

_TRAILING_UNIT = re.compile(r"^(.*?\S)\s*\(([A-Za-z][A-Za-z .'-]*)\)\s*$")


@dataclass(frozen=True)
class FieldMap:
    """Which source fields hold the question, context, answer and solution."""

    question: str
    context: str | None
    answer: str | None
    solution: str | None
    chat: bool = False  # `question` names a list of chat turns

    @property
    def summary(self) -> str:
        """Where each part comes from, as an import reports it."""
        if self.chat:
            said = f"question <- first user turn of {self.question}"
            worked: str | None = f"the assistant turn of {self.question}"
        else:
            said = f"question <- {self.question}"
            said += f" (after {self.context})" if self.context else ""
            worked = self.solution
        if self.answer:
            source = self.answer
        elif worked:
            source = f"\\boxed{{}} or 'the answer is' in {worked}"
        else:
            source = "none"
        return f"{said}, answer <- {source}"

    @property
    def used(self) -> frozenset[str]:
        """The mapped field names (the rest go into the seed's meta)."""
        return frozenset(n for n in (self.question, self.context, self.answer, self.solution) if n)


@dataclass(slots=True)
class MappedSeed:
    question: str
    answer: str | None
    solution: str | None
    meta: dict[str, Any]


def detect_fields(
    record: Mapping[str, Any],
    *,
    question_field: str | None = None,
    answer_field: str | None = None,
    source: str = "",
) -> FieldMap:
    """Choose the field mapping from one record; explicit fields win over detection."""
    keys = set(record)
    if question_field is not None:
        if question_field not in keys:
            raise InputError(
                f"--question-field '{question_field}' is not in the first record "
                f"(fields: {_names(keys)})",
                path=source,
                line=None,
            )
        question = question_field
    else:
        found = next((name for name in QUESTION_FIELDS if name in keys), None)
        chat = next((name for name in CHAT_FIELDS if _chat_turns(record.get(name))), None)
        if found is None and chat is not None:
            final = answer_field or next((n for n in ANSWER_FIELDS if n in keys), None)
            return FieldMap(question=chat, context=None, answer=final, solution=None, chat=True)
        if found is None:
            raise InputError(
                f"no question field found (looked for {', '.join(QUESTION_FIELDS)}; "
                f"fields here: {_names(keys)}); pass --question-field",
                path=source,
            )
        question = found
    if answer_field is not None:
        if answer_field not in keys:
            raise InputError(
                f"--answer-field '{answer_field}' is not in the first record "
                f"(fields: {_names(keys)})",
                path=source,
            )
        answer: str | None = answer_field
    else:
        answer = next((name for name in ANSWER_FIELDS if name in keys and name != question), None)
    context = next((name for name in CONTEXT_FIELDS if name in keys and name != question), None)
    solution = next((name for name in SOLUTION_FIELDS if name in keys and name != answer), None)
    return FieldMap(question=question, context=context, answer=answer, solution=solution)


def map_record(
    record: Mapping[str, Any], fields: FieldMap, *, source: str, line: int
) -> MappedSeed:
    """Apply `fields` to one record; a missing or empty question is an error naming the line."""
    raw_question = record.get(fields.question)
    chat_solution = None
    if fields.chat:
        turns = _chat_turns(raw_question) or []
        raw_question = next((text for role, text in turns if role in ("user", "human")), None)
        chat_solution = next((text for role, text in turns if role in ("assistant", "gpt")), None)
    question = raw_question.strip() if isinstance(raw_question, str) else ""
    if not question:
        problem = (
            "missing or empty question"
            if raw_question is None or isinstance(raw_question, str)
            else f"expected text, got {type(raw_question).__name__}"
        )
        raise InputError(problem, path=source, line=line, field=fields.question)
    if fields.context is not None:
        context = record.get(fields.context)
        if isinstance(context, str) and context.strip() and context.strip() not in question:
            question = f"{context.strip()} {question}"
    solution_text = _text_or_none(record.get(fields.solution)) if fields.solution else None
    if chat_solution is not None:
        solution_text = _text_or_none(chat_solution)
    answer: str | None = None
    if fields.answer is not None:
        raw_answer = record.get(fields.answer)
        answer, gsm_solution = _answer_from(raw_answer)
        if gsm_solution is not None and solution_text is None:
            solution_text = gsm_solution
    if answer is None and solution_text is not None:
        answer = last_boxed(solution_text) or _stated_answer(solution_text)
    used = _used(fields)
    meta = (
        {key: value for key, value in record.items() if key not in used}
        if len(record) > len(used)
        else {}
    )
    return MappedSeed(question=question, answer=answer, solution=solution_text, meta=meta)


@functools.lru_cache(maxsize=64)
def _used(fields: FieldMap) -> frozenset[str]:
    return fields.used


def _answer_from(value: Any) -> tuple[str | None, str | None]:
    """(final answer, worked solution if the answer field held one)."""
    if isinstance(value, str):
        return _answer_from_text(value)
    if value is None:
        return None, None
    if isinstance(value, bool):
        return str(value).lower(), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value)), None
        return repr(value), None
    if isinstance(value, list | tuple):
        parts = [part for part in (_answer_from(item)[0] for item in value) if part]
        return (", ".join(parts) if parts else None), None
    return json.dumps(value, ensure_ascii=False), None


def _answer_from_text(value: str) -> tuple[str | None, str | None]:
    text = value.strip()
    if not text:
        return None, None
    if "####" in text:
        final = text.rsplit("####", 1)[1].strip()
        if final:
            return final.replace(",", ""), text
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return _answer_from(parsed)[0], None
    boxed = last_boxed(text) if "\\boxed" in text or "\\fbox" in text else None
    if boxed is not None:
        return boxed, text
    stated = _stated_answer(text)
    if stated is not None:  # a worked solution ending "The answer is: 5" (MetaMath style)
        return stated, text
    unit = _TRAILING_UNIT.match(text) if text.endswith(")") else None
    if unit and re.fullmatch(r"[-+]?[\d.,/]+", unit.group(1)):
        return unit.group(1), None
    if len(text) >= 2 and text[0] == "$" and text[-1] == "$" and text.count("$") == 2:
        text = text[1:-1].strip()
    return text, None


def _stated_answer(text: str) -> str | None:
    """The answer a worked solution states ("... The answer is: 5", "Final answer: 5"), by
    the grader's own rule; None when it states none (a bare answer is not a statement).
    Every cue of that rule says "answer": other texts skip the rules (an import's hot path)."""
    if "answer" not in text.lower():
        return None
    found = extract_reference(text)
    return found.answer if found.rule == "the_answer_is" else None


def _chat_turns(value: Any) -> list[tuple[str, str]] | None:
    """[(role, text)] of a chat-format field (OpenAI `role`/`content` or ShareGPT
    `from`/`value`), or None when `value` is not one."""
    if not isinstance(value, list) or not value:
        return None
    turns = []
    for turn in value:
        if not isinstance(turn, Mapping):
            return None
        role, text = turn.get("role", turn.get("from")), turn.get("content", turn.get("value"))
        if not isinstance(role, str) or not isinstance(text, str):
            return None
        turns.append((role.lower(), text))
    return turns


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}`, braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for index in range(brace, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                inner = text[brace + 1 : index].strip()
                return inner or None
    return None


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        joined = "\n".join(str(item) for item in value if item is not None).strip()
        return joined or None
    text = str(value).strip()
    return text or None


def _names(keys: set[str]) -> str:
    shown = sorted(keys)[:12]
    return ", ".join(shown) + (", ..." if len(keys) > 12 else "")
