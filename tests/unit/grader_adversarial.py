"""Hostile `flames grade` input lines (issue 16): numbers past float range, power towers,
deep nesting (LaTeX and JSON), wrong JSON types, broken bytes, huge and repetitive texts.

`adversarial_lines(n)` cycles through the kinds, so any count covers all of them; each line
is raw bytes as a file would hold them (some are not valid JSON on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Callable

Maker = Callable[[int], bytes]


def _pair(gold: object, pred: object) -> bytes:
    return json.dumps({"gold": gold, "pred": pred}).encode("utf-8")


KINDS: dict[str, Maker] = {
    # numbers past float range, against numbers and against non-numbers (the OverflowError)
    "overflow_vs_text": lambda i: _pair("\\boxed{1e309}", f"\\boxed{{x_{i}}}"),
    "overflow_times_ten": lambda i: _pair("1.5 \\times 10^{320}", "\\boxed{\\text{none}}"),
    "overflow_json_number": lambda i: b'{"gold": 1e400, "pred": "\\\\boxed{1e400}"}',
    "underflow": lambda i: _pair("-1e-400", "\\boxed{0}"),
    "huge_json_int": lambda i: b'{"gold": ' + b"9" * 6000 + b', "pred": "9"}',
    "many_digits": lambda i: _pair("9" * 5000, "\\boxed{" + "9" * 5000 + "}"),
    "exponent_word": lambda i: _pair("1e99999", "\\boxed{1e99999}"),
    # towers and huge powers
    "tower": lambda i: _pair("2^{2^{2^{2^{2^{2}}}}}", "\\boxed{2^{2^{2^{2^{2^{2}}}}}}"),
    "big_power": lambda i: _pair("9^{999999999}", f"\\boxed{{9^{{99999999{i % 10}}}}}"),
    "factorial_tower": lambda i: _pair("1000000!", "\\boxed{(10^{100})!}"),
    # deep nesting
    "deep_braces": lambda i: _pair("{" * 3000 + "1" + "}" * 3000, "\\boxed{1}"),
    "deep_parens": lambda i: _pair("(" * 3000 + "1" + ")" * 3000, "(" * 2999 + "1" + ")" * 2999),
    "deep_fracs": lambda i: _pair("\\frac{1}{" * 300 + "2" + "}" * 300, "\\boxed{0}"),
    "deep_json": lambda i: b'{"gold": ' + b"[" * 100_000 + b"]" * 100_000 + b', "pred": "1"}',
    # wrong JSON types and broken lines
    "json_true": lambda i: b"true",
    "json_array": lambda i: b"[1, 2, 3]",
    "json_string": lambda i: b'"just a string"',
    "json_null": lambda i: b"null",
    "gold_object": lambda i: b'{"gold": {"a": 1}, "pred": "1"}',
    "gold_bool": lambda i: b'{"gold": true, "pred": false}',
    "missing_pred": lambda i: b'{"gold": "1"}',
    "nan_literal": lambda i: b'{"gold": NaN, "pred": Infinity}',
    "not_json": lambda i: b"gold=1, pred=1",
    "bad_utf8": lambda i: b'{"gold": "1", "pred": "\xff\xfe"}',
    # huge and repetitive texts (regex and extraction bounds)
    "huge_pred": lambda i: _pair("1", "x" * 1_000_000 + " the answer is 1"),
    "many_boxes": lambda i: _pair("1", "\\boxed{1} " * 20_000),
    "many_hashes": lambda i: _pair("1", "####" * 50_000),
    "many_answer_cues": lambda i: _pair("1", "the answer is " * 20_000),
    "many_dollars": lambda i: _pair("1", "$" * 100_000),
    "unclosed_box": lambda i: _pair("1", "\\boxed{" * 10_000),
    # ordinary lines in between, so the good path is exercised too
    "ordinary": lambda i: _pair(str(i), f"so the answer is {i if i % 2 else i + 1}."),
}


def adversarial_lines(count: int) -> list[tuple[str, bytes]]:
    """`count` (kind, line) pairs, cycling through every kind."""
    names = list(KINDS)
    return [(names[i % len(names)], KINDS[names[i % len(names)]](i)) for i in range(count)]
