"""The project's math taxonomy (subjects -> topics -> concepts) and walks over it."""

from __future__ import annotations

from pipeline.taxonomy.tree import Concept, Subject, Taxonomy, Topic, load_taxonomy
from pipeline.taxonomy.walker import TaxonomyPick, leaf_coverage, walk

__all__ = [
    "Concept",
    "Subject",
    "Taxonomy",
    "TaxonomyPick",
    "Topic",
    "leaf_coverage",
    "load_taxonomy",
    "walk",
]
