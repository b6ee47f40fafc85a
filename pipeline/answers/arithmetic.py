"""A tiny evaluator for constant LaTeX arithmetic (`2\\sqrt{3}`, `\\frac{\\pi}{4}`, `3^{2}+1`).

It lets the fast path compare numeric expressions without sympy. It reads a fixed
grammar (numbers, + - * / ^, factorials, implicit products, \\frac, \\sqrt, \\pi, brackets) with a
recursive-descent parser; anything else, a variable, a decimal literal or a value out of
range makes it give up (None), and the pair goes to the symbolic check as before.
"""

from __future__ import annotations

import math
import re

MAX_TOKENS = 200
MAX_EXPONENT = 64.0
MAX_MAGNITUDE = 1e100
MAX_FACTORIAL = 69  # 70! is past MAX_MAGNITUDE

_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+|\\[a-zA-Z]+|[-+*/^(){}\[\]!])")
_MIXED_NUMBER = re.compile(r"\d\s*\\frac")
_MULTIPLY = {"*", "\\cdot", "\\times"}
_ATOM_START = {"(", "{", "\\pi", "\\frac", "\\sqrt"}


class _GiveUp(Exception):
    """The input is outside the grammar or the safe range."""


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _GiveUp
        tokens.append(match.group(1))
        position = match.end()
        if len(tokens) > MAX_TOKENS:
            raise _GiveUp
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _GiveUp
        self.at += 1
        return token

    def expression(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return _checked(value)

    def term(self) -> float:
        value = self.signed()
        while True:
            token = self.peek()
            if token in _MULTIPLY:
                self.take()
                value *= self.signed()
            elif token == "/":
                self.take()
                divisor = self.signed()
                if divisor == 0:
                    raise _GiveUp
                value /= divisor
            elif token in _ATOM_START:
                value *= self.power()  # implicit product: 2\sqrt{3}, 3\pi
            else:
                return _checked(value)

    def signed(self) -> float:
        if self.peek() in ("+", "-"):
            return -self.signed() if self.take() == "-" else self.signed()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        while self.peek() == "!":  # "5!" is 120: a gold written as a factorial
            self.take("!")
            if not float(base).is_integer() or not 0 <= base <= MAX_FACTORIAL:
                raise _GiveUp
            base = float(math.factorial(int(base)))
        if self.peek() != "^":
            return base
        self.take("^")
        exponent = self.group() if self.peek() == "{" else self.atom()
        if abs(exponent) > MAX_EXPONENT or (base < 0 and not float(exponent).is_integer()):
            raise _GiveUp
        if base == 0 and exponent < 0:
            raise _GiveUp
        return _checked(base**exponent)

    def group(self) -> float:
        if self.peek() == "{":
            self.take("{")
            value = self.expression()
            self.take("}")
            return value
        token = self.take()
        if len(token) == 1 and token.isdigit():  # \frac12
            return float(token)
        raise _GiveUp

    def atom(self) -> float:
        token = self.take()
        if token[0].isdigit() or token[0] == ".":
            if "." in token:
                raise _GiveUp  # decimals follow math-verify's rounding rules: leave to sympy
            return float(token)
        if token == "\\pi":
            return math.pi
        if token in ("(", "{", "["):
            value = self.expression()
            self.take({"(": ")", "{": "}", "[": "]"}[token])
            return value
        if token == "\\frac":
            digits = self.peek()
            if digits is not None and len(digits) == 2 and digits.isdigit():  # \frac12
                self.take()
                numerator, denominator = float(digits[0]), float(digits[1])
            else:
                numerator, denominator = self.group(), self.group()
            if denominator == 0:
                raise _GiveUp
            return numerator / denominator
        if token == "\\sqrt":
            index = 2.0
            if self.peek() == "[":
                self.take("[")
                index = self.expression()
                self.take("]")
            radicand = self.group()
            if radicand < 0 or index <= 0:
                raise _GiveUp
            return _checked(radicand ** (1.0 / index))
        raise _GiveUp


def _checked(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise _GiveUp
    return value


def evaluate(latex: str) -> float | None:
    """The value of a constant LaTeX expression, or None when it is not one we can read."""
    if _MIXED_NUMBER.search(latex):
        return None  # "1\frac{4}{5}" is 9/5 to a reader, 4/5 to a parser: leave it to sympy
    try:
        parser = _Parser(_tokens(latex))
        value = parser.expression()
        if parser.peek() is not None:
            return None
        return value
    except (_GiveUp, OverflowError, ZeroDivisionError, ValueError, RecursionError):
        return None


def values_compare(gold: float, pred: float) -> bool | None:
    """True when equal to 12 digits, False when they differ in the first 6, None in between."""
    scale = max(1.0, abs(gold), abs(pred))
    difference = abs(gold - pred)
    if difference <= 1e-12 * scale:
        return True
    if difference > 1e-6 * scale:
        return False
    return None
