"""Deterministic seed sampling, budgets and ratio mixing across seed sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.seeds.sampling import Seed, allocate, load_pools, pick_examples, sample_draws
from storage.database import open_db


def pool(name: str, n: int, start: int = 0) -> list[Seed]:
    return [Seed(start + i, name, f"{name} question {i}", str(i), None) for i in range(n)]


POOLS = {"gsm8k": pool("gsm8k", 40), "math": pool("math", 25, 1000)}


def test_allocate_splits_by_ratio_with_largest_remainder() -> None:
    assert allocate(10, {"a": 0.5, "b": 0.5}) == {"a": 5, "b": 5}
    assert allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert allocate(7, {"a": 0.7, "b": 0.3, "c": 0}) == {"a": 5, "b": 2, "c": 0}
    assert sum(allocate(1001, {"a": 0.2, "b": 0.5, "c": 0.3}).values()) == 1001


def test_draws_are_deterministic_and_prefix_stable() -> None:
    ratios = {"gsm8k": 0.5, "math": 0.5}
    a = sample_draws(POOLS, ratios, 30, seed=1, salt="paraphrase")
    assert a == sample_draws(POOLS, ratios, 30, seed=1, salt="paraphrase")
    assert sample_draws(POOLS, ratios, 60, seed=1, salt="paraphrase")[:30] == a
    assert a != sample_draws(POOLS, ratios, 30, seed=2, salt="paraphrase")
    assert a != sample_draws(POOLS, ratios, 30, seed=1, salt="fobar")


def test_every_prefix_mixes_by_ratio() -> None:
    draws = sample_draws(POOLS, {"gsm8k": 0.5, "math": 0.5}, 40, seed=3, salt="x")
    for n in (2, 10, 40):
        counts = Counter(d.seed.seed_set for d in draws[:n])
        assert counts["gsm8k"] == counts["math"] == n // 2
    skewed = sample_draws(POOLS, {"gsm8k": 3, "math": 1}, 100, seed=3, salt="x")
    assert Counter(d.seed.seed_set for d in skewed) == {"gsm8k": 75, "math": 25}


def test_a_set_is_used_up_before_any_seed_repeats() -> None:
    draws = sample_draws({"math": POOLS["math"]}, {"math": 1}, 60, seed=4, salt="x")
    first = draws[:25]
    assert len({d.seed.id for d in first}) == 25 and {d.repeat for d in first} == {0}
    assert {d.repeat for d in draws[25:50]} == {1}
    assert len({(d.seed.id, d.repeat) for d in draws}) == 60


def test_examples_are_distinct_and_start_with_the_drawn_seed() -> None:
    candidates = POOLS["gsm8k"]
    examples = pick_examples(candidates, candidates[5], 4, seed=1, salt="s")
    assert examples[0] == candidates[5] and len({e.id for e in examples}) == 4
    assert examples == pick_examples(candidates, candidates[5], 4, seed=1, salt="s")


def test_pools_come_from_the_workspace(tmp_path: Path) -> None:
    db = open_db(tmp_path / "flames.db")
    db.execute("INSERT INTO seed_sets (id, name, source) VALUES (1, 'toy', 'x')")
    for i, answer in enumerate(["1", None, "  ", "4"]):
        db.execute(
            "INSERT INTO seeds (seed_set_id, source_line, question, answer, content_hash)"
            " VALUES (1, ?, ?, ?, ?)",
            [i + 1, f"q{i}", answer, f"h{i}"],
        )
    assert len(load_pools(db, {"toy": 1})["toy"]) == 4
    assert [s.answer for s in load_pools(db, {"toy": 1}, require_answer=True)["toy"]] == ["1", "4"]
    with pytest.raises(ConfigError, match="seed set 'gsm8k' is not in the workspace"):
        load_pools(db, {"gsm8k": 1})
    with pytest.raises(ConfigError, match="no usable seeds"):
        sample_draws({"toy": []}, {"toy": 1}, 1, seed=0, salt="fobar")
