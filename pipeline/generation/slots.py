"""Plans the slots of one strategy: which inputs each of its `budget` problems gets.

Slot keys name the inputs (seed ids and repeat, taxonomy concepts, or an index for
seedless strategies), so a rerun finds the slots it already stored and a larger
budget only adds slots at the end of the plan.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.generation.runner import Slot
from pipeline.seeds.sampling import Seed, pick_examples, sample_draws
from pipeline.strategies.definition import Strategy
from pipeline.taxonomy import load_taxonomy, walk


def items_per_reply(strategy: Strategy, params: Mapping[str, Any]) -> int:
    """How many problems one reply yields: `k` for a multi-problem stage, else 1."""
    if any(stage.multi for stage in strategy.stages):
        return int(params.get("k", 1))
    return 1


def plan_slots(
    strategy: Strategy,
    params: Mapping[str, Any],
    budget: int,
    *,
    pools: Mapping[str, Sequence[Seed]],
    ratios: Mapping[str, float],
    seed: int,
) -> list[Slot]:
    """The first `budget` slots of `strategy` for the experiment's random `seed`."""
    if budget <= 0:
        return []
    name = strategy.name
    if strategy.inputs == "none":
        return [Slot(f"{name}:n{i}", sample_index=i) for i in range(budget)]
    if strategy.inputs == "taxonomy":
        picks = walk(
            load_taxonomy(),
            budget,
            seed=f"{seed}:{name}",
            coverage=str(params.get("coverage", "leaves")),
            subjects=list(params.get("subjects", [])),
            levels=list(params.get("levels", [])),
            concepts_per_problem=int(params.get("concepts_per_problem", 2)),
        )
        seen: Counter[str] = Counter()
        slots = []
        for pick in picks:
            ident = "+".join(c.id for c in pick.concepts)
            slots.append(
                Slot(f"{name}:t{ident}:r{seen[ident]}", pick=pick, sample_index=seen[ident])
            )
            seen[ident] += 1
        return slots
    per_reply = items_per_reply(strategy, params)
    draws = sample_draws(pools, ratios, math.ceil(budget / per_reply), seed=seed, salt=name)
    if strategy.inputs == "seeds":
        candidates = sorted((s for p in pools.values() for s in p), key=lambda s: s.id)
        k = int(params.get("k", 3))
        return [
            Slot(
                f"{name}:s{d.seed.id}:r{d.repeat}",
                seeds=tuple(
                    pick_examples(
                        candidates, d.seed, k, seed=seed, salt=f"{name}:{d.seed.id}:{d.repeat}"
                    )
                ),
                sample_index=d.repeat,
            )
            for d in draws
        ]
    slots = [
        Slot(
            f"{name}:s{d.seed.id}:r{d.repeat}:i{j}", seeds=(d.seed,), sample_index=d.repeat, item=j
        )
        for d in draws
        for j in range(per_reply)
    ]
    return slots[:budget]
