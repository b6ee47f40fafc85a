"""The symbolic check, backed by math-verify: run only inside pool workers.

Extracted answers are read by the LaTeX grammar (latex2sympy2) alone, never by `eval`,
`sympify` or `parse_expr`; plain notation such as `sqrt(2)` or `x**2` is rewritten to LaTeX
first. When the caller was not sure of its own extraction (an answer found in prose, not
in a box), it also hands over the raw texts and math-verify's own `parse` reads them, with
its LaTeX and plain-expression extractors, as math-verify's `verify(parse(gold),
parse(pred))` does. Its plain-expression extractor calls sympy's `parse_expr` only on text
its regex admits, which is digits, `.`, spaces and the operators `+-*/^()×÷`: no names, so
nothing a model writes can reach Python evaluation through it. math-verify's signal-based
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


MAX_FACTORIAL_ARGUMENT = 10_000


def _huge_factorial(answer: str) -> bool:
    """A factorial sympy would spend its whole timeout on: of a literal past 10,000, or of a
    bracketed group holding a power or a number of five digits or more ("(10^{100})!")."""
    for bang in re.finditer(r"(?<!\\)!", answer):
        before = answer[: bang.start()].rstrip()
        digits = re.search(r"(\d+)$", before)
        if digits is not None:
            if len(digits.group(1)) > 6 or int(digits.group(1)) > MAX_FACTORIAL_ARGUMENT:
                return True
            continue
        if before.endswith((")", "}")):
            depth, start = 0, 0
            for i in range(len(before) - 1, -1, -1):
                depth += before[i] in ")}"
                depth -= before[i] in "({"
                if depth == 0:
                    start = i
                    break
            operand = before[start:]
            if "^" in operand or re.search(r"\d{5,}", operand):
                return True
    return False


def _too_large(answer: str) -> bool:
    """True for literal powers whose value has more than 10**5 digits (`9^{999999999}`, towers).

    sympy evaluates integer powers eagerly; such an input would only burn its timeout.
    """
    if _DEEP_TOWER.search(answer):
        return True
    if "!" in answer and _huge_factorial(answer):
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


def screen(answer: str, *, max_chars: int = MAX_SYMBOLIC_CHARS) -> str | None:
    """Why an answer must not reach sympy ("too_long", "too_deep", "too_large"), or None."""
    if len(answer) > max_chars:
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


# The tail of a raw output that math-verify reads: a final answer sits at the end.
RAW_TAIL_CHARS = 4_000


@functools.lru_cache(maxsize=512)
def _parse_raw(text: str) -> tuple[Any, ...]:
    """math-verify's own extraction and parsing of a whole text (its default extractors)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    return tuple(parse(text, extraction_config=config, parsing_timeout=None))


def _parsed(answer: str, raw: str | None) -> tuple[tuple[Any, ...], str | None]:
    """The parsed forms of one side: math-verify's reading of `raw` when given (falling back
    to the extracted answer), else of the extracted answer; and why it cannot be parsed."""
    if raw is not None:
        tail = raw[-RAW_TAIL_CHARS:]
        refusal = screen(tail, max_chars=RAW_TAIL_CHARS)
        if refusal is not None:
            return (), refusal
        found = _parse_raw(tail)
        if found:
            return found, None
    refusal = screen(answer)
    if refusal is not None:
        return (), refusal
    return _parse(answer), None


def symbolic_compare(
    gold: str, pred: str, gold_raw: str | None = None, pred_raw: str | None = None
) -> tuple[bool | None, str]:
    """(equal, reason) from math-verify's parse and verify, with its timeouts off.

    `gold_raw` / `pred_raw`: the whole texts, for math-verify's own extraction where the
    caller's extraction was uncertain.
    """
    from math_verify import verify

    gold_parsed, refusal = _parsed(gold, gold_raw)
    if refusal is not None:
        return None, f"gold_{refusal}"
    if not gold_parsed:
        return None, "gold_unparsable"
    pred_parsed, refusal = _parsed(pred, pred_raw)
    if refusal is not None:
        return None, f"pred_{refusal}"
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
