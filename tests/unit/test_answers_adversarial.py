"""Hostile grader input (issue 16): every line gets a verdict or a null with a reason, the
run never crashes, and its time is bounded by the symbolic timeouts it hits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.answers import Verifier
from pipeline.answers.grading import grade_file
from pipeline.answers.grouping import canonical_key
from pipeline.answers.normalisation import fast_compare
from tests.unit.grader_adversarial import KINDS, adversarial_lines

TIMEOUT_S = 5.0


def test_values_past_float_range_are_compared_not_crashed() -> None:
    assert fast_compare("1e309", "1e309") == (True, "identical")
    assert fast_compare("1e309", "2e309") == (False, "numeric_differ")
    assert fast_compare("1.5 \\times 10^{320}", "\\text{none}")[0] is not True  # no OverflowError
    assert canonical_key("1e309").startswith("num:")
    with Verifier(workers=1, timeout_s=TIMEOUT_S) as verifier:
        verdicts = verifier.compare([("1e309", "x"), ("1.5 \\times 10^{320}", "abc")])
    assert all(v.equal is not True and v.reason for v in verdicts)


@pytest.mark.timeout(300)
def test_every_adversarial_line_gets_a_verdict_or_a_null_with_its_reason(tmp_path: Path) -> None:
    lines = adversarial_lines(2 * len(KINDS))
    src, out = tmp_path / "hostile.jsonl", tmp_path / "graded.jsonl"
    src.write_bytes(b"".join(line + b"\n" for _, line in lines))
    started = time.perf_counter()
    summary = grade_file(src, out, workers=2, timeout_s=TIMEOUT_S)
    elapsed = time.perf_counter() - started
    strict = json.JSONDecoder(parse_constant=lambda name: pytest.fail(f"{name} in the output"))
    rows = [strict.decode(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(lines) == summary.total
    for (kind, _), row in zip(lines, rows, strict=True):
        assert row["equivalent"] in (True, False, None), kind
        assert isinstance(row["reason"], str) and row["reason"], kind
    by_kind = {kind: row for (kind, _), row in zip(lines, rows, strict=True)}
    assert by_kind["deep_json"]["reason"] == "bad_line: JSON nested too deeply"
    assert by_kind["json_true"]["equivalent"] is None
    assert by_kind["overflow_json_number"]["gold"] == "1e400"  # kept as written
    assert by_kind["tower"]["reason"] in ("identical", "too_large")
    assert not (tmp_path / "graded.jsonl.part").exists()
    # Bounded: a fixed allowance plus what the symbolic timeouts that fired can cost.
    timeouts = summary.reasons.get("timeout", 0)
    assert elapsed < 60 + timeouts * TIMEOUT_S, (elapsed, summary.reasons)
