"""Deterministic seed sampling: budgets per strategy, seed sets mixed by ratio.

The draw is a stream: seed sets interleave so every prefix holds them in their
ratios (the paper mixes GSM8K and MATH 50/50), and each set yields its seeds in a
shuffled order, reshuffled each time it runs out. The same random seed and salt
give the same stream, and the first n draws do not depend on how many are taken,
so raising a budget extends a run instead of redrawing it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from sqlite_utils import Database

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Seed:
    """One seed problem, with the set it comes from."""

    id: int
    seed_set: str
    question: str
    answer: str | None
    solution: str | None


@dataclass(frozen=True)
class Draw:
    """A seed drawn from the stream; `repeat` counts earlier draws of the same seed."""

    seed: Seed
    repeat: int


def load_pools(
    db: Database, ratios: Mapping[str, float], *, require_answer: bool = False
) -> dict[str, list[Seed]]:
    """The seeds of each named set (ordered by id), only those with answers if asked."""
    pools: dict[str, list[Seed]] = {}
    for name, ratio in ratios.items():
        if ratio <= 0:
            continue
        row = db.execute("SELECT id FROM seed_sets WHERE name = ?", [name]).fetchone()
        if row is None:
            raise ConfigError(
                f"seed_sets: seed set '{name}' is not in the workspace; import it "
                f"with `flames seeds import SOURCE --name {name}`"
            )
        sql = "SELECT id, question, answer, solution FROM seeds WHERE seed_set_id = ?"
        if require_answer:
            sql += " AND answer IS NOT NULL AND trim(answer) != ''"
        rows = db.execute(sql + " ORDER BY id", [row[0]]).fetchall()
        pools[name] = [Seed(int(r[0]), name, r[1], r[2], r[3]) for r in rows]
    return pools


def allocate(total: int, ratios: Mapping[str, float]) -> dict[str, int]:
    """`total` split by `ratios` (largest remainder; ties to the earlier name)."""
    weights = {k: v for k, v in ratios.items() if v > 0}
    if total <= 0 or not weights:
        return {k: 0 for k in ratios}
    norm = sum(weights.values())
    exact = {k: total * v / norm for k, v in weights.items()}
    counts = {k: int(x) for k, x in exact.items()}
    order = sorted(weights, key=lambda k: (-(exact[k] - counts[k]), list(weights).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return {k: counts.get(k, 0) for k in ratios}


def _set_stream(pool: Sequence[Seed], rng: random.Random) -> Iterator[Draw]:
    cycle = 0
    while True:
        order = list(pool)
        rng.shuffle(order)
        for seed in order:
            yield Draw(seed, cycle)
        cycle += 1


def draw_stream(
    pools: Mapping[str, Sequence[Seed]], ratios: Mapping[str, float], *, seed: int, salt: str
) -> Iterator[Draw]:
    """An endless deterministic stream of draws mixing `pools` by `ratios`."""
    weights = {k: ratios[k] for k in pools if ratios.get(k, 0) > 0}
    for name in weights:
        if not pools[name]:
            raise ConfigError(
                f"seed set '{name}' has no usable seeds for {salt} "
                "(strategies that need an answer skip seeds without one)"
            )
    if not weights:
        raise ConfigError("seed_sets: no seed set with a positive ratio")
    norm = sum(weights.values())
    streams = {k: _set_stream(pools[k], random.Random(f"{seed}:{salt}:{k}")) for k in weights}
    taken = dict.fromkeys(weights, 0)
    position = 0
    while True:
        position += 1
        name = max(weights, key=lambda k: position * weights[k] / norm - taken[k])
        taken[name] += 1
        yield next(streams[name])


def sample_draws(
    pools: Mapping[str, Sequence[Seed]],
    ratios: Mapping[str, float],
    count: int,
    *,
    seed: int,
    salt: str,
) -> list[Draw]:
    """The first `count` draws of the stream for (`seed`, `salt`)."""
    if count <= 0:
        return []
    return list(islice(draw_stream(pools, ratios, seed=seed, salt=salt), count))


def pick_examples(
    candidates: Sequence[Seed], first: Seed, k: int, *, seed: int, salt: str
) -> list[Seed]:
    """`first` and up to k-1 other seeds from `candidates`, deterministic per `salt`."""
    rng = random.Random(f"{seed}:{salt}")
    chosen = [first]
    for i in rng.sample(range(len(candidates)), min(k, len(candidates))):
        if len(chosen) < k and candidates[i].id != first.id:
            chosen.append(candidates[i])
    return chosen
