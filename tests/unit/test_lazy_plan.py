"""Big budgets are planned as the run goes (issue 16 item 8): the first slots come at once,
and the lazy plan is the same plan, slot for slot."""

from __future__ import annotations

import itertools
import time

import pytest

from pipeline.generation.slots import iter_slots, plan_slots
from pipeline.seeds.sampling import Seed
from pipeline.strategies import get_strategy
from pipeline.values import MAX_BUDGET

POOL = [Seed(i, "s", f"What is {i} + {i + 1}?", str(2 * i + 1), None) for i in range(500)]


@pytest.mark.parametrize("name", ["paraphrase", "ask_me_anything", "taxonomy_key_concepts"])
def test_the_lazy_plan_is_the_plan(name: str) -> None:
    strategy = get_strategy(name)
    params = strategy.validate_params({})
    kwargs = {"pools": {"s": POOL}, "ratios": {"s": 1.0}, "seed": 3}
    eager = plan_slots(strategy, params, 300, **kwargs)  # type: ignore[arg-type]
    lazy = list(iter_slots(strategy, params, 300, **kwargs))  # type: ignore[arg-type]
    assert [s.key for s in lazy] == [s.key for s in eager] and len(eager) == 300


def test_the_largest_budget_starts_at_once() -> None:
    strategy = get_strategy("paraphrase")
    started = time.perf_counter()
    first = list(
        itertools.islice(
            iter_slots(
                strategy,
                strategy.validate_params({}),
                MAX_BUDGET,
                pools={"s": POOL},
                ratios={"s": 1.0},
                seed=1,
            ),
            100,
        )
    )
    assert len(first) == 100
    # Eager planning of a million slots takes ~12 s and ~220 MB; the lazy plan, a moment.
    assert time.perf_counter() - started < 2.0
