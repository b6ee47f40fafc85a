"""The packaged math taxonomy and deterministic walks with coverage control."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.errors import ConfigError, InputError
from pipeline.taxonomy import leaf_coverage, load_taxonomy, walk
from pipeline.taxonomy.tree import parse_taxonomy

LEVELS = {"grade_school", "middle_school", "high_school", "competition", "college"}


def test_the_taxonomy_has_hundreds_of_leaves_at_every_level() -> None:
    taxonomy = load_taxonomy()
    leaves = taxonomy.leaves()
    assert len(leaves) >= 300
    assert len({leaf.id for leaf in leaves}) == len(leaves)
    assert {t.level for t in taxonomy.topics()} == LEVELS
    assert len(taxonomy.subjects) >= 10
    assert all(len(t.concepts) >= 3 for t in taxonomy.topics())


def test_a_walk_is_deterministic_and_prefix_stable() -> None:
    taxonomy = load_taxonomy()
    assert walk(taxonomy, 20, seed=5) == walk(taxonomy, 20, seed=5)
    assert walk(taxonomy, 50, seed=5)[:20] == walk(taxonomy, 20, seed=5)
    assert walk(taxonomy, 20, seed=5) != walk(taxonomy, 20, seed=6)


def test_leaf_coverage_visits_every_leaf_before_repeating() -> None:
    taxonomy = load_taxonomy()
    n = len(taxonomy.leaves())
    picks = walk(taxonomy, n, seed=1, concepts_per_problem=1)
    assert leaf_coverage(taxonomy, picks) == 1.0
    assert len({p.node for p in picks}) == n


def test_subject_coverage_spreads_evenly_over_subjects() -> None:
    taxonomy = load_taxonomy()
    k = len(taxonomy.subjects)
    picks = walk(taxonomy, 3 * k, seed=2, coverage="subjects")
    counts = Counter(p.subject for p in picks)
    assert len(counts) == k and set(counts.values()) == {3}
    topics = walk(taxonomy, len(taxonomy.topics()), seed=2, coverage="topics")
    assert len({p.topic_id for p in topics}) == len(taxonomy.topics())


def test_filters_and_concepts_per_problem() -> None:
    taxonomy = load_taxonomy()
    picks = walk(
        taxonomy, 30, seed=3, subjects=["number_theory", "calculus"], concepts_per_problem=3
    )
    assert {p.topic_id.split("/")[0] for p in picks} == {"number_theory", "calculus"}
    assert all(len(p.concepts) == 3 and len(set(p.concepts)) == 3 for p in picks)
    assert all(c.id.startswith(p.topic_id + "/") for p in picks for c in p.concepts)
    college = walk(taxonomy, 10, seed=3, levels=["college"])
    assert {p.level for p in college} == {"college"}


def test_bad_walk_settings_name_the_problem() -> None:
    taxonomy = load_taxonomy()
    with pytest.raises(ConfigError, match="subject 'geometri' does not exist"):
        walk(taxonomy, 1, seed=0, subjects=["geometri"])
    with pytest.raises(ConfigError, match="coverage"):
        walk(taxonomy, 1, seed=0, coverage="random")
    with pytest.raises(ConfigError, match="no taxonomy topic"):
        walk(taxonomy, 1, seed=0, subjects=["arithmetic"], levels=["college"])
    with pytest.raises(InputError, match="subject #1 is missing"):
        parse_taxonomy({"subjects": [{"id": "x", "name": "X"}]})
