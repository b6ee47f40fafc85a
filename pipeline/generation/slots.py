"""Plans the slots of one strategy: which inputs each of its `budget` problems gets.

Slot keys name the inputs (seed ids and repeat, taxonomy concepts, or an index for
seedless strategies), so a rerun finds the slots it already stored and a larger
budget only adds slots at the end of the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pipeline.errors import ConfigError
from pipeline.generation.runner import Slot
from pipeline.seeds.sampling import Seed, draw_stream
from pipeline.strategies.checks import plain_number
from pipeline.strategies.definition import Strategy
from pipeline.strategies.parsing import numbers_in, same_number
from pipeline.taxonomy import load_taxonomy, walk


def seed_targets(strategy: Strategy, seed: Seed, params: Mapping[str, Any]) -> list[str]:
    """The numbers of a seed that Ask Me Anything turns into answers, in reading order.

    The distinct numbers of the question, then the answer when it is a plain number, at
    most `max_problems`: a statement restating the seed holds exactly these numbers.
    """
    found: list[str] = []
    for number in [*numbers_in(seed.question), plain_number(seed.answer or "")]:
        if number is not None and not any(same_number(number, f) for f in found):
            found.append(number)
    return found[: int(params.get("max_problems", len(found)))]


def plan_slots(
    strategy: Strategy,
    params: Mapping[str, Any],
    budget: int,
    *,
    pools: Mapping[str, Sequence[Seed]],
    ratios: Mapping[str, float],
    seed: int,
) -> list[Slot]:
    """The first `budget` slots of `strategy` for the experiment's random `seed`.

    The plan is a prefix of one endless deterministic stream, so a larger budget only
    appends slots (fill-to-target rounds rely on that).
    """
    return list(iter_slots(strategy, params, budget, pools=pools, ratios=ratios, seed=seed))


def iter_slots(
    strategy: Strategy,
    params: Mapping[str, Any],
    budget: int,
    *,
    pools: Mapping[str, Sequence[Seed]],
    ratios: Mapping[str, float],
    seed: int,
) -> Iterator[Slot]:
    """`plan_slots`, one slot at a time: a big budget is planned as the run goes, so memory
    holds a window of the plan, never all of it."""
    if budget <= 0:
        return
    name = strategy.name
    if strategy.inputs in ("none", "seed_questions"):
        yield from (Slot(f"{name}:n{i}", sample_index=i) for i in range(budget))
        return
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
        for pick in picks:
            ident = "+".join(c.id for c in pick.concepts)
            yield Slot(f"{name}:t{ident}:r{seen[ident]}", pick=pick, sample_index=seen[ident])
            seen[ident] += 1
        return
    planned = 0
    barren, cycle = 0, sum(len(pool) for pool in pools.values())
    for draw in draw_stream(pools, ratios, seed=seed, salt=name):
        base = f"{name}:s{draw.seed.id}:r{draw.repeat}"
        if strategy.yields == "each_round":
            repeat = strategy.repeat_param()
            rounds = int(params.get(repeat, 1)) if repeat is not None else 1
            items = [
                Slot(f"{base}:i{j}", draw.seed, sample_index=draw.repeat, item=j, iteration=j + 1)
                for j in range(rounds)
            ]
        elif strategy.yields == "each_number":
            items = [
                Slot(f"{base}:i{j}", draw.seed, sample_index=draw.repeat, item=j, target=number)
                for j, number in enumerate(seed_targets(strategy, draw.seed, params))
            ]
        else:
            items = [Slot(f"{base}:i0", draw.seed, sample_index=draw.repeat)]
        barren = 0 if items else barren + 1
        if barren > cycle:  # a whole pass over the seeds gave nothing to plan
            raise ConfigError(f"{name}: no seed of the experiment's seed sets has a number")
        yield from items[: budget - planned]
        planned += min(len(items), budget - planned)
        if planned >= budget:
            return
