"""The taxonomy tree as typed data, read once from the packaged `taxonomy.toml`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pipeline.errors import InputError

TAXONOMY_FILE = "data/taxonomy.toml"


@dataclass(frozen=True)
class Concept:
    """A leaf: one concept a problem can test."""

    id: str  # subject/topic/slug
    name: str


@dataclass(frozen=True)
class Topic:
    """A topic within a subject, with its concept leaves."""

    id: str  # subject/topic
    name: str
    level: str
    concepts: tuple[Concept, ...]


@dataclass(frozen=True)
class Subject:
    """A subject (a branch of mathematics at a level)."""

    id: str
    name: str
    level: str
    topics: tuple[Topic, ...]


@dataclass(frozen=True)
class Taxonomy:
    """Subjects -> topics -> concepts."""

    subjects: tuple[Subject, ...]

    def topics(self) -> list[Topic]:
        """Every topic, in file order."""
        return [t for s in self.subjects for t in s.topics]

    def leaves(self) -> list[Concept]:
        """Every concept, in file order."""
        return [c for t in self.topics() for c in t.concepts]

    def subject(self, topic: Topic) -> Subject:
        """The subject `topic` belongs to."""
        return next(s for s in self.subjects if topic in s.topics)


def slug(text: str) -> str:
    """A lowercase id made of letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def parse_taxonomy(data: dict[str, Any], *, path: str = TAXONOMY_FILE) -> Taxonomy:
    """A Taxonomy from the parsed TOML; InputError naming the subject or topic otherwise."""
    subjects: list[Subject] = []
    for i, raw in enumerate(data.get("subjects", [])):
        try:
            sid, level = str(raw["id"]), str(raw["level"])
            topics = tuple(
                Topic(
                    f"{sid}/{t['id']}",
                    str(t["name"]),
                    str(t.get("level", level)),
                    tuple(Concept(f"{sid}/{t['id']}/{slug(c)}", str(c)) for c in t["concepts"]),
                )
                for t in raw["topics"]
            )
            subjects.append(Subject(sid, str(raw["name"]), level, topics))
        except (KeyError, TypeError) as exc:
            raise InputError(f"subject #{i + 1} is missing {exc}", path=path) from None
    if not subjects:
        raise InputError("the taxonomy has no subjects", path=path)
    return Taxonomy(tuple(subjects))


@cache
def load_taxonomy() -> Taxonomy:
    """The packaged taxonomy."""
    text = resources.files("pipeline").joinpath(TAXONOMY_FILE).read_text("utf-8")
    return parse_taxonomy(tomllib.loads(text))
