"""Per-step DPO with a scripted student whose rollouts fail exactly from a planted step on."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlite_utils import Database

from pipeline.answers.verification import Verifier
from pipeline.datasets.rewards import Reference
from pipeline.datasets.rollouts import NegativeTrace, RolloutPlan, estimate_values
from pipeline.datasets.step_pairs import PROMPT_JOIN, build_pair
from pipeline.datasets.steps import SplitRule
from pipeline.llm.request import Request
from storage.database import open_db
from storage.traces import (
    NewTrace,
    ensure_trace_set,
    insert_traces,
    set_traces,
    trace_detail,
)
from tests.unit.planted_pits import PlantedBackend, problem, trace

K = 3
PLAN = RolloutPlan(k=K, split=SplitRule(mode="lines"))
# (plant, steps): pits at 1, 2, 4 and 5 (the last step); 0 = Q(0) = 0; 7 > 5 steps = no pit
CASES = [(1, 5), (2, 5), (4, 5), (5, 5), (0, 4), (7, 5)]


@pytest.fixture
def verifier() -> Verifier:
    with Verifier(workers=1) as v:
        yield v


def negatives(db: Database | None = None) -> list[NegativeTrace]:
    items = [
        NegativeTrace(f"t{n}", problem(n, plant), trace(steps), Reference("42", "file"))
        for n, (plant, steps) in enumerate(CASES)
    ]
    if db is None:
        return items
    set_id = ensure_trace_set(
        db, "test", experiment_id=None, arm=None, model=None, params_json="{}"
    ).id
    insert_traces(db, set_id, [NewTrace(t.key, 0, t.text, question=t.question) for t in items])
    ids = {row.item: row.id for row in set_traces(db, set_id)}
    return [replace(t, trace_id=ids[t.key]) for t in items]


def budget(plant: int, steps: int, k: int = K) -> int:
    """Requests the default plan may ask for: (c + 1) x K, or all prefixes without a pit."""
    if plant == 0:
        return k
    return (min(plant, steps + 1) + (1 if plant <= steps else 0)) * k


def test_every_critical_step_is_found_within_the_budget(db: Database, verifier: Verifier) -> None:
    backend = PlantedBackend()
    report = estimate_values(db, backend, negatives(), PLAN, verifier=verifier)
    by_key = {v.trace.key: v for v in report.traces}
    for n, (plant, steps) in enumerate(CASES):
        valued = by_key[f"t{n}"]
        assert len(valued.steps) == steps
        assert valued.requests == budget(plant, steps), (plant, steps)
        if plant == 0:
            assert (valued.status, valued.q, valued.critical_step) == ("skipped", [0], None)
        elif plant > steps:
            assert valued.status == "no_pit" and valued.critical_step is None
            assert valued.q == [1] * (steps + 1)
        else:
            assert valued.status == "pit" and valued.critical_step == plant
            assert valued.q == [1] * plant + [0]
            assert valued.success[-1] == 0.0 and valued.success[0] == 1.0
    # Every request the backend saw was needed: the sum of the per-trace budgets, no more.
    assert len(backend.sent) == sum(budget(p, s) for p, s in CASES)
    assert all(r.continue_final for r in backend.sent if len(r.messages or ()) == 2)


def test_pairs_cut_the_trace_after_the_critical_step(db: Database, verifier: Verifier) -> None:
    report = estimate_values(db, PlantedBackend(), negatives(), PLAN, verifier=verifier)
    for valued in report.traces:
        pair = build_pair(valued)
        if valued.critical_step is None:
            assert pair is None
            continue
        c = valued.critical_step
        lines = valued.trace.text.splitlines()
        assert pair is not None and pair.critical_step == c
        assert pair.prompt == valued.trace.question
        assert pair.rejected == "\n".join(lines[:c])
        # chosen = the steps before c plus a correct continuation of them
        assert pair.chosen.startswith("\n".join(lines[: c - 1]))
        assert pair.chosen.endswith("\\boxed{42}.") and pair.chosen_source == "rollout"
        variant = build_pair(valued, variant="self_explore")
        assert variant is not None
        before = "\n".join(lines[: c - 1])
        assert variant.prefix == before
        assert variant.prompt == (
            valued.trace.question + PROMPT_JOIN + before if before else valued.trace.question
        )
        assert variant.rejected.strip() == lines[c - 1]
        assert variant.prefix + variant.rejected == pair.rejected
        assert variant.chosen.endswith("\\boxed{42}.")
        # records: conversational variant keeps the shared prefix on both sides
        record = variant.record("messages")
        assert record["prompt"] == [{"role": "user", "content": valued.trace.question}]
        assert record["rejected"][0]["content"] == pair.rejected
        plain = variant.record("prompt-completion")
        assert plain["prompt"] + plain["rejected"] == (
            valued.trace.question + (PROMPT_JOIN if before else "") + pair.rejected
        )


def test_given_chosen_is_used_when_preferred(db: Database, verifier: Verifier) -> None:
    report = estimate_values(db, PlantedBackend(), negatives()[:1], PLAN, verifier=verifier)
    pair = build_pair(report.traces[0], given="a known solution \\boxed{42}", prefer_given=True)
    assert pair is not None and pair.chosen_source == "given"
    assert pair.chosen == "a known solution \\boxed{42}"


def test_all_steps_values_every_prefix_in_one_batch(db: Database, verifier: Verifier) -> None:
    backend = PlantedBackend()
    plan = replace(PLAN, all_steps=True)
    report = estimate_values(db, backend, negatives(), plan, verifier=verifier)
    for valued, (plant, steps) in zip(report.traces, CASES, strict=True):
        if plant == 0:
            assert valued.q == [0] and valued.requests == K
            continue
        assert len(valued.q) == steps + 1 and valued.requests == (steps + 1) * K
        assert valued.critical_step == (plant if plant <= steps else None)
        assert valued.advantages()[plant - 1 : plant] == ([-1] if plant <= steps else [])


def test_prefix_zero_rollouts_are_shared_by_traces_of_one_problem(
    db: Database, verifier: Verifier
) -> None:
    same = [
        NegativeTrace(f"s{i}", problem(9, 2), trace(3 + i), Reference("42", "file"))
        for i in range(3)
    ]
    backend = PlantedBackend()
    report = estimate_values(db, backend, same, PLAN, verifier=verifier)
    assert [v.critical_step for v in report.traces] == [2, 2, 2]
    fresh = [r for r in backend.sent if not r.continue_final]
    assert len(fresh) == K  # one set of K samples of the problem, not one per trace
    assert report.requests == 3 * 3 * K


def test_values_and_rollouts_are_stored_for_the_inspector(db: Database, verifier: Verifier) -> None:
    traces = negatives(db)
    estimate_values(db, PlantedBackend(), traces, PLAN, verifier=verifier)
    detail = trace_detail(db, traces[2].trace_id or 0)  # plant 4 of 5 steps
    assert detail is not None
    assert detail.trace.critical_step == 4 and detail.trace.rollout_status == "pit"
    assert detail.trace.q0 == 1 and detail.trace.split == "lines" and detail.trace.n_steps == 5
    assert [s.q for s in detail.steps] == [1, 1, 1, 0, None]
    assert all(detail.trace.text[s.start : s.end] == s.text for s in detail.steps)
    assert detail.advantages() == [0, 0, 0, -1, None]
    assert len(detail.rollouts) == 5 * K
    assert all(r.text and r.verdict in ("correct", "incorrect") for r in detail.rollouts)
    assert {r.prefix for r in detail.rollouts if r.label == 0} == {4}
    skipped = trace_detail(db, traces[4].trace_id or 0)
    assert skipped is not None and skipped.trace.rollout_status == "skipped"
    assert skipped.trace.q0 == 0 and skipped.trace.critical_step is None


def test_a_kill_resumes_with_nothing_re_sent(db: Database, verifier: Verifier) -> None:
    baseline = PlantedBackend()
    estimate_values(open_db(":memory:"), baseline, negatives(), PLAN, verifier=verifier)
    total = len(baseline.sent)

    killed = PlantedBackend(crash_after=total // 2)
    with pytest.raises(KeyboardInterrupt):
        estimate_values(db, killed, negatives(db), PLAN, verifier=verifier)
    assert len(killed.sent) == total // 2

    resumed = PlantedBackend()
    report = estimate_values(db, resumed, negatives(db), PLAN, verifier=verifier)
    first = {r.key("student") for r in _expanded(killed.sent)}
    again = {r.key("student") for r in _expanded(resumed.sent)}
    assert not first & again  # nothing that finished before the kill is sent again
    assert len(killed.sent) + len(resumed.sent) == total
    assert [v.critical_step for v in report.traces] == [1, 2, 4, 5, None, None]

    rerun = PlantedBackend()
    estimate_values(db, rerun, negatives(db), PLAN, verifier=verifier)
    assert rerun.sent == []


def _expanded(requests: list[Request]) -> list[Request]:
    return [s for r in requests for s in r.samples()]
