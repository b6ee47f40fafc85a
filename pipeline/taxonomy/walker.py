"""Deterministic walks over the taxonomy with controllable coverage.

A walk yields picks (a topic and a few of its concepts). `coverage` says what is
spread evenly: every leaf once before any repeats (`leaves`), every topic
(`topics`), or every subject (`subjects`). One random stream drives the walk, so
the first n picks are the same whatever the total asked for: a larger budget
extends a walk and never reshuffles it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from pipeline.errors import ConfigError
from pipeline.taxonomy.tree import Concept, Taxonomy, Topic

COVERAGES = ("leaves", "topics", "subjects")


@dataclass(frozen=True)
class TaxonomyPick:
    """One node of a walk: a topic and the concepts a problem should combine."""

    subject: str
    topic: str
    level: str
    topic_id: str
    concepts: tuple[Concept, ...]

    @property
    def node(self) -> str:
        """The id stored with the problem: the first concept's path."""
        return self.concepts[0].id


def walk(
    taxonomy: Taxonomy,
    count: int,
    *,
    seed: int | str,
    coverage: str = "leaves",
    subjects: Sequence[str] = (),
    levels: Sequence[str] = (),
    concepts_per_problem: int = 2,
) -> list[TaxonomyPick]:
    """`count` picks over the chosen part of the taxonomy, the same for the same seed."""
    if coverage not in COVERAGES:
        raise ConfigError(f"coverage '{coverage}': use one of {', '.join(COVERAGES)}")
    known = {s.id for s in taxonomy.subjects}
    unknown = [s for s in subjects if s not in known]
    if unknown:
        raise ConfigError(
            f"taxonomy subject '{unknown[0]}' does not exist; subjects: {', '.join(sorted(known))}"
        )
    topics = [
        t
        for s in taxonomy.subjects
        if not subjects or s.id in subjects
        for t in s.topics
        if not levels or t.level in levels
    ]
    if not topics:
        raise ConfigError("no taxonomy topic matches the chosen subjects and levels")
    rng = random.Random(f"taxonomy:{seed}")
    return list(islice(_picks(taxonomy, topics, rng, coverage, concepts_per_problem), count))


def _cycle(items: Sequence[object], rng: random.Random) -> Iterator[int]:
    """Indexes of `items`, each once per round, rounds freshly shuffled."""
    while True:
        order = list(range(len(items)))
        rng.shuffle(order)
        yield from order


def _picks(
    taxonomy: Taxonomy, topics: list[Topic], rng: random.Random, coverage: str, per_problem: int
) -> Iterator[TaxonomyPick]:
    if coverage == "leaves":
        leaves = [(t, c) for t in topics for c in t.concepts]
        for i in _cycle(leaves, rng):
            topic, first = leaves[i]
            yield _pick(taxonomy, topic, first, rng, per_problem)
    elif coverage == "topics":
        for i in _cycle(topics, rng):
            topic = topics[i]
            yield _pick(taxonomy, topic, rng.choice(topic.concepts), rng, per_problem)
    else:
        groups: dict[str, list[Topic]] = {}
        for t in topics:
            groups.setdefault(taxonomy.subject(t).id, []).append(t)
        names = list(groups)
        for i in _cycle(names, rng):
            topic = rng.choice(groups[names[i]])
            yield _pick(taxonomy, topic, rng.choice(topic.concepts), rng, per_problem)


def _pick(
    taxonomy: Taxonomy, topic: Topic, first: Concept, rng: random.Random, per_problem: int
) -> TaxonomyPick:
    others = [c for c in topic.concepts if c != first]
    extra = rng.sample(others, min(per_problem - 1, len(others)))
    subject = taxonomy.subject(topic)
    return TaxonomyPick(subject.name, topic.name, topic.level, topic.id, (first, *extra))


def leaf_coverage(taxonomy: Taxonomy, picks: Iterable[TaxonomyPick]) -> float:
    """The share of all leaves that appear in `picks`, 0..1."""
    seen = {c.id for p in picks for c in p.concepts}
    return len(seen) / len(taxonomy.leaves())
