"""Answers with parts: lists of numbers (sets, tuples, intervals) and sets of assignments.

The fast path settles these without sympy only when it is sure: two lists of plain numbers
of the same kind (a bare or braced list is a set, so order does not matter; a bracketed one
is a tuple or interval, compared element by element with its brackets), or two systems of
assignments (`k = 45, n = 2` and `n = 2, k = 45`) whose variables match and whose values
the caller's comparison settles. Anything else returns None, and the symbolic check (with
math-verify's own parsing) decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Compare = Callable[[str, str], tuple[bool | None, str]]

MAX_PARTS = 64
_SEPARATORS = re.compile(r"\s*(?:;|\\text\{\s*and\s*\}|\band\b|\\q?quad)\s*")
_ASSIGNMENT = re.compile(r"([A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?)\s*=\s*([^=]+)")
_OPEN = {"(": ")", "[": "]", "\\{": "\\}", "{": "}"}


@dataclass(frozen=True)
class Listed:
    """A list answer: its parts and how it is bracketed ("set" when bare or braced)."""

    kind: str  # "set", or the bracket pair of a tuple/interval: "()", "[]", "(]", "[)"
    parts: tuple[str, ...]


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """`text` split at `separator`s outside any brackets or braces."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _brackets(text: str) -> tuple[str, str, str] | None:
    """(opening, inner, closing) when one bracket pair wraps the whole text."""
    for left in ("\\{", "(", "["):
        if text.startswith(left):
            break
    else:
        return None
    right_options = ("\\}",) if left == "\\{" else (")", "]")
    for right in right_options:
        if text.endswith(right) and len(text) > len(left) + len(right):
            inner = text[len(left) : -len(right)]
            depth = 0
            for ch in inner:  # the pair must wrap everything, not "(1)+(2)"
                depth += ch in "([{"
                depth -= ch in ")]}"
                if depth < 0:
                    return None
            return left, inner, right
    return None


def listed(text: str) -> Listed | None:
    """`text` as a list of two or more parts, or None when it is not one."""
    wrapped = _brackets(text)
    kind = "set"
    inner = text
    if wrapped is not None:
        left, inner, right = wrapped
        kind = "set" if left == "\\{" else left + right
    parts = split_top_level(inner)
    if len(parts) < 2 or len(parts) > MAX_PARTS or not all(parts):
        return None
    return Listed(kind, tuple(parts))


def compare_lists(gold: str, pred: str, compare: Compare) -> tuple[bool | None, str] | None:
    """(equal, reason) for two lists of the same kind that `compare` settles part by part;
    None when either is not a list, the kinds differ, or a part is not settled."""
    g, p = listed(gold), listed(pred)
    if g is None or p is None or g.kind != p.kind:
        return None
    if len(g.parts) != len(p.parts):
        return False, "list_differ"
    if g.kind == "set":
        return _match_sets(list(g.parts), list(p.parts), compare)
    for a, b in zip(g.parts, p.parts, strict=True):
        equal, _ = compare(a, b)
        if equal is None:
            return None
        if not equal:
            return False, "list_differ"
    return True, "list_equal"


def _match_sets(gold: list[str], pred: list[str], compare: Compare) -> tuple[bool, str] | None:
    """Each gold part matched to a distinct pred part (greedy; any unsettled pair: None)."""
    left = list(pred)
    for a in gold:
        for i, b in enumerate(left):
            equal, _ = compare(a, b)
            if equal is None:
                return None
            if equal:
                del left[i]
                break
        else:
            return False, "set_differ"
    return True, "set_equal"


def assignments(text: str) -> dict[str, str] | None:
    """`k = 45, n = 2` (or `;`, "and", `\\quad` between) as {variable: value}; None when
    any part is not `variable = value` or a variable repeats."""
    parts = [p for chunk in split_top_level(text) for p in _SEPARATORS.split(chunk)]
    found: dict[str, str] = {}
    for part in parts:
        match = _ASSIGNMENT.fullmatch(part.strip())
        if match is None:
            return None
        name = re.sub(r"[{}\s]", "", match.group(1))
        if name in found:
            return None
        found[name] = match.group(2).strip()
    return found or None


def compare_assignments(gold: str, pred: str, compare: Compare) -> tuple[bool | None, str] | None:
    """(equal, reason) for two systems of two or more assignments; None when either side is
    not one or a value is not settled by `compare`."""
    g, p = assignments(gold), assignments(pred)
    if g is None or p is None or max(len(g), len(p)) < 2:
        return None
    if set(g) != set(p):
        return False, "assignments_differ"
    for name, value in g.items():
        equal, _ = compare(value, p[name])
        if equal is None:
            return None
        if not equal:
            return False, "assignments_differ"
    return True, "assignments_equal"


def compare_restated(single: str, text: str, compare: Compare) -> tuple[bool | None, str]:
    """A single answer against a bare list: equal when every part restates it ("$\\boxed{
    15\\frac{39}{40}}$ or $\\boxed{\\frac{639}{40}}$"); (None, "needs_symbolic") when a part
    is not settled; else a type mismatch (one number is not a tuple, set or matrix)."""
    parts = listed(text)
    if parts is None or parts.kind != "set":
        return False, "type_differ"
    for part in parts.parts:
        equal, _ = compare(single, part)
        if equal is None:
            return None, "needs_symbolic"
        if not equal:
            return False, "type_differ"
    return True, "restated_equal"
