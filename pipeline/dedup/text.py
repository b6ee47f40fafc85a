"""Text normalisation shared by near-duplicate detection and decontamination.

Two texts that differ only in case, whitespace, punctuation or Unicode form
normalise to the same string; digits are kept, so "16 eggs" and "17 eggs" differ.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Anything that is not a letter or digit (in any script) folds to one space.
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Lowercase, NFKC-fold, and collapse every run of punctuation/whitespace to one space."""
    if text.isascii():
        return _NON_WORD.sub(" ", text.lower()).strip()
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def normalize_all(texts: Iterable[str]) -> list[str]:
    """`normalize` over many texts (a list, so the result can be indexed)."""
    return [normalize(t) for t in texts]


def words(normalized: str) -> list[str]:
    """The word tokens of an already normalised text."""
    return normalized.split()
