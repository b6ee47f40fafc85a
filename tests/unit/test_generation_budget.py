"""Fill-to-target budgets: rounds through the same engine until N problems survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.generation.budget import next_plan
from pipeline.generation.generate import generate
from pipeline.llm.request import Request
from tests.unit.strategy_doubles import ScriptedBackend, workspace
from workbench.cli.generate import print_reports

BENCH_ITEM = (
    "Ada paints a fence that is 18 metres long in exactly 6 hours. How fast does she paint?"
)


def test_the_next_round_is_sized_by_the_yield_so_far() -> None:
    assert next_plan(target=10, kept=5, planned=10, cap=40) == 21  # 50% yield, 10% headroom
    assert next_plan(target=10, kept=0, planned=10, cap=40) == 20  # no yield yet: double
    assert next_plan(target=10, kept=0, planned=30, cap=40) == 40  # never past the cap
    assert next_plan(target=10, kept=10, planned=12, cap=40) == 12  # met: stop
    assert next_plan(target=10, kept=3, planned=40, cap=40) == 40  # capped: stop


def kept_mode(tmp_path: Path, budget: int, **extra: object) -> tuple[object, str]:
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": BENCH_ITEM, "answer": "3"}) + "\n")
    return workspace(
        tmp_path,
        {"zero_shot_generation": {"budget": budget, "budget_mode": "kept", **extra}},
        extra_toml=f'[filter]\ndecontam_against = ["{bench}"]\n',
    )


def replies(prompt: str, request: Request) -> str:
    """Sample 1 repeats sample 0, sample 2 is a benchmark item, sample 3 fails to parse."""
    i = request.sample_index
    if i == 1:
        i = 0
    if i == 2:
        return f"<problem>{BENCH_ITEM}</problem>"
    if i == 3:
        return "no tags at all"
    return f"<problem>Problem number {i}: what is {i} times 17 plus 3?</problem>"


def test_generation_continues_until_the_target_survives_dedup_and_decontamination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, exp = kept_mode(tmp_path, 4)
    backend = ScriptedBackend(replies)
    [report] = generate(db, exp, backend=backend)
    assert report.mode == "kept" and report.target == 4 and report.kept is not None
    assert report.kept >= 4  # the last round may overshoot: it is sized by an estimated yield
    first = report.rounds[0]
    # 4 tried: 3 parsed, of them 1 duplicate and 1 benchmark copy: 1 survives.
    assert (first.attempts, first.parsed, first.kept) == (4, 3, 1)
    assert len(report.rounds) >= 2 and report.rounds[-1].kept_total == report.kept
    assert sum(r.attempts for r in report.rounds) == report.requested == len(backend.prompts)
    assert report.produced + report.rejected_total == report.requested
    assert not report.short
    print_reports([report])
    out = capsys.readouterr().out
    assert "round 1: tried 4, parsed 3, kept 1 (yield 25%), 1/4 kept" in out
    # A rerun finds the target met from what is stored: nothing is sent, nothing planned.
    again = ScriptedBackend(replies)
    [rerun] = generate(db, exp, backend=again)
    assert again.prompts == [] and rerun.kept == report.kept
    assert rerun.resumed == report.requested
    assert len(rerun.rounds) == 1 and rerun.rounds[0].attempts == report.requested


def test_the_attempts_cap_stops_a_strategy_that_cannot_reach_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, exp = kept_mode(tmp_path, 3, attempts_cap=6)
    backend = ScriptedBackend(lambda p, r: "<problem>The same problem every single time?</problem>")
    [report] = generate(db, exp, backend=backend)
    assert report.requested == 6 and report.kept == 1 and report.short
    print_reports([report])
    assert "stopped at the attempts cap with 1/3" in capsys.readouterr().out


def test_attempts_mode_is_the_plain_budget(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 4}})
    [report] = generate(db, exp, backend=ScriptedBackend(replies))
    assert report.mode == "attempts" and report.requested == 4 and report.rounds == []


def test_kept_mode_without_its_benchmarks_fails_with_the_fix_named(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path,
        {"zero_shot_generation": {"budget": 2, "budget_mode": "kept"}},
        extra_toml='[filter]\ndecontam_against = ["nosuch_benchmark"]\n',
    )
    with pytest.raises(ConfigError, match="budget_mode = 'kept'.*could not be loaded"):
        generate(db, exp, backend=ScriptedBackend(replies))
