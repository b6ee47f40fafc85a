"""Answer normalisation and the fast path: settle plain numbers and identical strings without sympy.

Everything here is string and `fractions.Fraction` work, bounded by input length, so it
runs in the caller's process; only what it cannot settle goes to the symbolic pool.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from pipeline.answers.arithmetic import evaluate, values_compare
from pipeline.answers.structures import compare_assignments, compare_lists, compare_restated

# Decimal places compared when either side was written as a decimal (as math-verify does).
FLOAT_ROUNDING = 6
MAX_EXPONENT = 400
# Longer answers are compared only as exact strings: no real final answer is this long.
MAX_ANSWER_CHARS = 20_000

_SPACING = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad\b|\\displaystyle\b|\\left\b|\\right\b|~")
# Thin spaces inside a number ("16,\\!386", "1\\,000") join digits; elsewhere they are spaces.
_DIGIT_SPACING = re.compile(r"(?<=[\d,])\s*\\[,;:!]\s*(?=\d)|\\!")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b")
_CURRENCY = re.compile(r"\\\$|US\$|USD|€|£|¥|₹|\$")
_UNIT_WORD = r"(?:[a-zA-Z]{2,}\.?|[mgsLlhKVAWJN])(?:\^\{?-?\d\}?|\d)?"
_UNITS_TAIL = re.compile(rf"\s+(?:{_UNIT_WORD})(?:(?:\s*/\s*|\s+)(?:{_UNIT_WORD}))*$")
_MATH_WORDS = frozenset(
    {"pi", "sqrt", "infty", "inf", "infinity", "frac", "cdot", "times", "and", "or", "i", "e"}
)
_ASSIGNMENT = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]+$)")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[-+]?\.\d+")
_SCIENTIFIC_E = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))[eE]([-+]?\d{1,4})")
_SCIENTIFIC_TEN = re.compile(
    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?:\\times|\\cdot|\*|x|×)\s*10\s*\^\s*\{?\s*([-+]?\d{1,4})\s*\}?"
)
_FRACTION = re.compile(
    r"([-+]?)\s*(?:\\frac\s*(?:\{\s*([-+]?\d+(?:\.\d+)?)\s*\}|(\d))\s*"
    r"(?:\{\s*(\d+(?:\.\d+)?)\s*\}|(\d))|([-+]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?))"
)
_WHITESPACE = re.compile(r"\s+")
_SPACE_CARET = re.compile(r"\s+\^")
_SPACED_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?[.:]?$")
# "2,74", "1000,99", "0,5": a decimal comma (one, two or four and more digits after it;
# exactly three is a thousands separator, "1,000").
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,(?:\d{1,2}|\d{4,})")
_PLAIN_TEXT = re.compile(r"^[A-Za-z][A-Za-z '\-]*$")


@dataclass(frozen=True)
class Number:
    """A plain number: exact value, whether it was written as a decimal, and whether as a percent."""

    value: Fraction
    is_float: bool = False
    is_percent: bool = False


@functools.lru_cache(maxsize=8192)
def clean(answer: str) -> str:
    """Strip layout that never changes meaning: math delimiters, spacing commands, `\\dfrac`, `\\text{}`."""
    s = answer.strip()
    if s.startswith("$") and s.endswith("$"):
        s = s.strip("$")
    if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
        s = s[2:-2]
    s = _SPACING.sub(" ", _DIGIT_SPACING.sub("", s))
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = s.replace("\\%", "%").replace("−", "-")
    s = _TEXT_CMD.sub(r" \1 ", s)
    s = _DEGREES.sub("", s)
    s = _SPACE_CARET.sub("^", _WHITESPACE.sub(" ", s).strip())
    return s.rstrip(".").strip()


def unwrap_parens(s: str) -> str:
    """Drop parentheses around the whole answer when they group nothing: "((-3))" -> "-3"."""
    while s.startswith("(") and s.endswith(")") and "," not in s:
        depth = 0
        for i, ch in enumerate(s):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(s) - 1:
                return s
        s = s[1:-1].strip()
    return s


def _strip_units(s: str) -> str:
    """Drop currency signs and trailing unit words after a leading number ("18 dollars", "5 cm^2")."""
    s = _CURRENCY.sub("", s).strip()
    s = re.sub(r"^(?:Rs\.?|INR|EUR|GBP)\s*", "", s)
    match = _UNITS_TAIL.search(s)
    if match and match.start() > 0:
        words = {w.lower().rstrip(".") for w in re.findall(r"[a-zA-Z]+", match.group(0))}
        if not words & _MATH_WORDS:
            s = s[: match.start()].strip()
    return s


def _to_fraction(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def parse_number(answer: str) -> Number | None:
    """The answer as a plain number, or None when it is anything else (an expression, a set...)."""
    if _PLAIN_NUMBER.fullmatch(answer):  # most answers: what the steps below give, at once
        return Number(_to_fraction(answer), "." in answer, False)
    s = clean(answer)
    if not s or len(s) > 96:
        return None
    s = unwrap_parens(_ASSIGNMENT.sub("", _strip_units(s)).strip())
    if not s:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    s = s.replace(" ", "") if _SPACED_THOUSANDS.fullmatch(s) else s
    if _PLAIN_NUMBER.fullmatch(s):
        return Number(_to_fraction(s), "." in s, percent)
    for pattern in (_SCIENTIFIC_E, _SCIENTIFIC_TEN):
        match = pattern.fullmatch(s)
        if match:
            exponent = int(match.group(2))
            if abs(exponent) > MAX_EXPONENT:
                return None
            return Number(Fraction(match.group(1)) * Fraction(10) ** exponent, True, percent)
    match = _FRACTION.fullmatch(s)
    if match:
        sign, num_brace, num_digit, den_brace, den_digit, num_slash, den_slash = match.groups()
        if num_slash is not None:
            num, den = num_slash, den_slash
        else:
            num, den = num_brace or num_digit, den_brace or den_digit
        denominator = Fraction(den)
        if denominator == 0:
            return None
        value = Fraction(num) / denominator
        value = -value if sign == "-" else value
        return Number(value, "." in num + den, percent)
    return None


def decimal_comma(answer: str) -> Number | None:
    """`answer` as a number written with a decimal comma ("2,74" -> 2.74), else None.

    Only for a single number: "2,74" could also be the pair (2, 74), so callers use it
    when the other side is one number, never a list.
    """
    s = clean(answer)
    if not s or len(s) > 96:
        return None
    s = unwrap_parens(_ASSIGNMENT.sub("", _strip_units(s)).strip())
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    if not _DECIMAL_COMMA.fullmatch(s):
        return None
    return Number(Fraction(s.replace(",", ".")), True, percent)


def _rounded(value: Fraction) -> Fraction:
    return round(value, FLOAT_ROUNDING)


def numbers_equal(gold: Number, pred: Number) -> bool:
    """Exact equality, or equality at 6 decimals when a side is a decimal; x% also matches x/100 and x."""
    candidates = [gold.value]
    if gold.is_percent:
        candidates.append(gold.value / 100)
    if pred.is_percent:
        candidates.extend([c * 100 for c in list(candidates)])
    loose = gold.is_float or pred.is_float or gold.is_percent or pred.is_percent
    for value in candidates:
        if value == pred.value:
            return True
        if loose and _rounded(value) == _rounded(pred.value):
            return True
    return False


def text_key(answer: str) -> str | None:
    """A comparison key for a word answer ("Yes", "(B)", "\\text{Monday}"), None for maths."""
    s = clean(answer)
    inner = unwrap_parens(s)
    if inner != s and _CHOICE.fullmatch(inner):
        s = inner
    choice = _CHOICE.fullmatch(s)
    if choice:
        return "choice:" + choice.group(1).upper()
    if not _PLAIN_TEXT.fullmatch(s) or len(s) > 100:
        return None
    words = s.lower().split()
    if any(w in _MATH_WORDS for w in words) or (len(words) == 1 and len(words[0]) == 1):
        return None
    return " ".join(words)


def canonical_key(answer: str) -> str:
    """A string equal for answers the fast path calls identical: used to group answers cheaply."""
    if len(answer) > MAX_ANSWER_CHARS:
        return "long:" + answer.strip()
    number = parse_number(answer)
    if number is not None and not number.is_percent:
        return "num:" + str(number.value if not number.is_float else _rounded(number.value))
    key = text_key(answer)
    if key is not None:
        return "text:" + key
    return "str:" + _WHITESPACE.sub("", clean(answer))


def _constant(s: str, number: Number | None) -> tuple[float, bool] | None:
    """(value, written as a decimal) of a plain number or a constant expression, else None."""
    if number is not None:
        if number.is_percent:
            return None
        try:
            return float(number.value), number.is_float
        except OverflowError:  # past float range: only exact comparisons can settle it
            return None
    value = evaluate(s)
    return None if value is None else (value, False)


def _squeezed(s: str) -> str:
    """Without whitespace and without parentheses that wrap the whole answer."""
    return _WHITESPACE.sub("", unwrap_parens(s))


def _is_compound(s: str) -> bool:
    """A tuple, interval, set, list or matrix (never equal to one plain number)."""
    if "=" in s or "\\le" in s or "\\ge" in s or "<" in s or ">" in s:
        return False
    return "," in s or "\\begin{" in s or "\\cup" in s or "\\cap" in s


def fast_compare(gold: str, pred: str) -> tuple[bool | None, str]:
    """(equal, reason) when settled without sympy; (None, "needs_symbolic") otherwise."""
    if len(gold) > MAX_ANSWER_CHARS or len(pred) > MAX_ANSWER_CHARS:
        return (True, "identical") if gold.strip() == pred.strip() else (None, "too_long")
    g, p = clean(gold), clean(pred)
    if not g:
        return None, "no_gold"
    if not p:
        return False, "no_answer"
    if g == p or _squeezed(g) == _squeezed(p):
        return True, "identical"
    gold_number, pred_number = parse_number(g), parse_number(p)
    if gold_number is None and pred_number is not None:
        gold_number = decimal_comma(g)
    elif pred_number is None and gold_number is not None:
        pred_number = decimal_comma(p)
    if gold_number is not None and pred_number is not None:
        equal = numbers_equal(gold_number, pred_number)
        return equal, "numeric_equal" if equal else "numeric_differ"
    if gold_number is None and pred_number is None:
        parts = compare_assignments(g, p, fast_compare) or compare_lists(g, p, fast_compare)
        if parts is not None:
            return parts
    if gold_number is not None and _is_compound(p):
        return compare_restated(g, p, fast_compare)
    if pred_number is not None and _is_compound(g):
        return False, "type_differ"
    gold_value, pred_value = _constant(g, gold_number), _constant(p, pred_number)
    if gold_value is not None and pred_value is not None:
        if gold_value[1] or pred_value[1]:
            # A decimal on one side: compare at 6 decimals, as math-verify rounds floats.
            equal = round(gold_value[0], FLOAT_ROUNDING) == round(pred_value[0], FLOAT_ROUNDING)
            return equal, "evaluated_equal" if equal else "evaluated_differ"
        verdict = values_compare(gold_value[0], pred_value[0])
        if verdict is not None:
            return verdict, "evaluated_equal" if verdict else "evaluated_differ"
    gold_text, pred_text = text_key(g), text_key(p)
    if gold_text is not None and pred_text is not None:
        equal = gold_text == pred_text
        return equal, "text_equal" if equal else "text_differ"
    if (gold_number is not None and pred_text is not None) or (
        gold_text is not None and pred_number is not None
    ):
        return False, "type_differ"
    return None, "needs_symbolic"
