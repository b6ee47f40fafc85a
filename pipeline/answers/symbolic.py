"""The symbolic check, backed by math-verify: run only inside pool workers.

Model output is only ever read by the LaTeX grammar (latex2sympy2), never by
`eval`, `sympify` or `parse_expr`: math-verify's plain-expression extractor calls
`parse_expr` (which executes Python), so it is not used. Plain notation such as
`sqrt(2)` or `x**2` is rewritten to LaTeX first. math-verify's own signal-based
timeouts are disabled; the pool bounds each call by killing its worker.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from typing import Any

from pipeline.answers.normalisation import clean

# Answers longer than this or nested deeper are not handed to sympy at all.
MAX_SYMBOLIC_CHARS = 2_000
MAX_NESTING = 40
MAX_POWER_DIGITS_LOG10 = 5  # refuse literal powers with more than 10**5 digits

_POWER = re.compile(r"(\d{1,12})\s*\^\s*\{?\s*(\d+)")
_TOWER = re.compile(r"(\d{1,12})\s*\^\s*\{\s*(\d{1,12})\s*\^\s*\{?\s*(\d+)")
_DEEP_TOWER = re.compile(r"\^\s*\{[^{}]*\^\s*\{[^{}]*\^")

_PLAIN_SQRT = re.compile(r"(?<!\\)\bsqrt\s*\(([^()]*)\)")
_PLAIN_WORDS = (
    (re.compile(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])"), r"\\pi"),
    (re.compile(r"(?<![\\a-zA-Z])(?:infinity|inf)(?![a-zA-Z])"), r"\\infty"),
    (re.compile(r"π"), r"\\pi "),
    (re.compile(r"∞"), r"\\infty "),
    (re.compile(r"√\s*\(([^()]*)\)"), r"\\sqrt{\1}"),
    (re.compile(r"√\s*(\d+|[a-zA-Z])"), r"\\sqrt{\1}"),
    (re.compile(r"≤|<="), r"\\le "),
    (re.compile(r"≥|>="), r"\\ge "),
    (re.compile(r"≠|!="), r"\\ne "),
    (re.compile(r"×"), r"\\times "),
    (re.compile(r"·"), r"\\cdot "),
    (re.compile(r"\*\*"), "^"),
)


def _too_large(answer: str) -> bool:
    """True for literal powers whose value has more than 10**5 digits (`9^{999999999}`, towers).

    sympy evaluates integer powers eagerly; such an input would only burn its timeout.
    """
    if _DEEP_TOWER.search(answer):
        return True
    for base, middle, top in _TOWER.findall(answer):
        a, b = int(base), int(middle)
        if (
            a > 1
            and b > 1
            and (
                len(top) > 6
                or int(top) * math.log10(b) + math.log10(math.log10(a)) > MAX_POWER_DIGITS_LOG10
            )
        ):
            return True
    for base, exponent in _POWER.findall(answer):
        if int(base) > 1 and (
            len(exponent) > 8 or int(exponent) * math.log10(int(base)) > 10**MAX_POWER_DIGITS_LOG10
        ):
            return True
    return False


def screen(answer: str) -> str | None:
    """Why an answer must not reach sympy ("too_long", "too_deep", "too_large"), or None."""
    if len(answer) > MAX_SYMBOLIC_CHARS:
        return "too_long"
    if _too_large(answer):
        return "too_large"
    depth = deepest = 0
    for ch in answer:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth -= 1
    if deepest > MAX_NESTING:
        return "too_deep"
    return None


def to_latex(answer: str) -> str:
    """Rewrite plain-text maths (`sqrt(2)`, `x**2`, `pi`, `>=`) into the LaTeX the parser reads."""
    s = clean(answer)
    for _ in range(3):
        rewritten = _PLAIN_SQRT.sub(r"\\sqrt{\1}", s)
        if rewritten == s:
            break
        s = rewritten
    for pattern, replacement in _PLAIN_WORDS:
        s = pattern.sub(replacement, s)
    return s


@functools.lru_cache(maxsize=512)
def _parse(answer: str) -> tuple[Any, ...]:
    """Parsed forms of one answer; cached because a gold answer meets many predictions."""
    from math_verify import LatexExtractionConfig, parse

    latex = to_latex(answer)
    config = [LatexExtractionConfig(boxed_match_priority=0)]
    parsed = parse("$" + latex + "$", extraction_config=config, parsing_timeout=None)
    if not parsed:
        parsed = parse("\\boxed{" + latex + "}", extraction_config=config, parsing_timeout=None)
    return tuple(parsed)


def symbolic_compare(gold: str, pred: str) -> tuple[bool | None, str]:
    """(equal, reason) from math-verify's parse and verify, with its timeouts off."""
    from math_verify import verify

    for side, answer in (("gold", gold), ("pred", pred)):
        refusal = screen(answer)
        if refusal is not None:
            return None, f"{side}_{refusal}"
    gold_parsed = _parse(gold)
    if not gold_parsed:
        return None, "gold_unparsable"
    pred_parsed = _parse(pred)
    if not pred_parsed:
        return False, "pred_unparsable"
    if _clearly_different(gold_parsed, pred_parsed):
        return False, "sampled_differ"
    equal = bool(
        verify(
            list(gold_parsed), list(pred_parsed), allow_set_relation_comp=True, timeout_seconds=None
        )
    )
    return equal, "symbolic_equal" if equal else "symbolic_differ"


# Points where both sides are evaluated before asking sympy to simplify their difference.
_SAMPLE_POINTS = (0.5377, 1.8339, -2.2588, 0.8622)


def _sample(expr: Any, symbols: list[Any], point: float) -> complex | None:
    try:
        value = complex(
            expr.subs({symbol: point + i * 0.3119 for i, symbol in enumerate(symbols)}).evalf(20)
        )
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if value != value or abs(value) == float("inf"):  # NaN or infinite
        return None
    return value


def _expr_pair_differs(gold: Any, pred: Any) -> bool:
    """True when two float-free expressions take different values at a sample point."""
    from sympy import Expr, Float, UnevaluatedExpr

    if not (isinstance(gold, Expr) and isinstance(pred, Expr)):
        return False
    if gold.atoms(Float) or pred.atoms(Float):
        return False  # math-verify compares floats at 6 decimals: leave those to it
    if gold.has(UnevaluatedExpr) or pred.has(UnevaluatedExpr):
        return False  # percentages: math-verify lets 9% match 9
    symbols = sorted(gold.free_symbols | pred.free_symbols, key=str)
    for point in _SAMPLE_POINTS[: 1 if not symbols else len(_SAMPLE_POINTS)]:
        a, b = _sample(gold, symbols, point), _sample(pred, symbols, point)
        if a is None or b is None:
            return False
        if abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)):
            return True
    return False


def _clearly_different(gold: tuple[Any, ...], pred: tuple[Any, ...]) -> bool:
    """Every (gold, pred) reading differs at a sample point: verify's costly simplify would say no.

    Only plain expressions are sampled; strings, relations, sets and matrices always go to verify.
    """
    for g in gold:
        for p in pred:
            if isinstance(g, str) or isinstance(p, str):
                # verify matches a string only with the same string, never with an expression
                if isinstance(g, str) and isinstance(p, str) and g.strip() == p.strip():
                    return False
                continue
            if not _expr_pair_differs(g, p):
                return False
    return True


def quiet_math_verify() -> None:
    """Silence math-verify's "timeout is disabled" warnings: the pool does the bounding."""
    for name in (
        "math_verify",
        "math_verify.parser",
        "math_verify.grader",
        "latex2sympy2_extended",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


def warm_up() -> None:
    """Import math-verify and its grammar once, so forked workers start ready."""
    quiet_math_verify()
    symbolic_compare("\\frac{1}{2}", "0.5")
