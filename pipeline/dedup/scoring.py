"""Exact similarity scoring with rapidfuzz, for candidate pairs and for all pairs.

Scores are in 0..1. The default scorer is the normalized Indel similarity
(`fuzz.ratio` / 100) on normalised text; token-based scorers are available for
users who want word order to matter less.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from pipeline.errors import ConfigError

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# name -> rapidfuzz scorer returning 0..100
SCORERS: dict[str, Callable[..., float]] = {
    "ratio": fuzz.ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
    "partial_ratio": fuzz.partial_ratio,
}
DEFAULT_SCORER = "ratio"

# Slack so that a score equal to the threshold in exact arithmetic is never lost to rounding.
_EPS = 1e-6


def scorer_named(name: str) -> Callable[..., float]:
    """The rapidfuzz scorer called `name`, or a ConfigError listing the choices."""
    try:
        return SCORERS[name]
    except KeyError:
        choices = ", ".join(SCORERS)
        raise ConfigError(f"unknown scorer '{name}': choose one of {choices}") from None


def length_bound(len_a: npt.NDArray[np.int64], len_b: npt.NDArray[np.int64]) -> F32:
    """Upper bound of the Indel similarity given only the two lengths: 2*min/(a+b)."""
    total = np.maximum(len_a + len_b, 1)
    bound: F32 = (2.0 * np.minimum(len_a, len_b) / total).astype(np.float32)
    return bound


def score_pairs(
    texts: Sequence[str], left: I64, right: I64, scorer: str, cutoff: float, chunk: int = 1_000_000
) -> F32:
    """Scores (0..1) of the pairs (texts[left[k]], texts[right[k]]); 0 where below `cutoff`.

    Uses `process.cpdist` with all cores, a chunk of pairs at a time.
    """
    fn = scorer_named(scorer)
    out = np.zeros(len(left), np.float32)
    threshold = max(cutoff * 100.0 - _EPS, 0.0)
    for start in range(0, len(left), chunk):
        a = [texts[i] for i in left[start : start + chunk].tolist()]
        b = [texts[j] for j in right[start : start + chunk].tolist()]
        raw = process.cpdist(a, b, scorer=fn, score_cutoff=threshold, workers=-1, dtype=np.float32)
        out[start : start + len(a)] = raw / np.float32(100.0)
    return out


def exhaustive_pairs(
    texts: Sequence[str], threshold: float, scorer: str = DEFAULT_SCORER, block: int = 1000
) -> tuple[I64, I64, F32]:
    """Every pair i<j with score >= threshold, by all-pairs `process.cdist` on row blocks.

    O(n^2): the reference that blocking is measured against, fine up to ~20k texts.
    """
    fn = scorer_named(scorer)
    cut = max(threshold * 100.0 - _EPS, 0.0)
    rows: list[I64] = []
    cols: list[I64] = []
    vals: list[F32] = []
    items: list[Any] = list(texts)
    for start in range(0, len(items), block):
        m = process.cdist(
            items[start : start + block],
            items[start:],
            scorer=fn,
            score_cutoff=cut,
            workers=-1,
            dtype=np.float32,
        )
        r, c = np.nonzero(m)
        keep = c > r
        r, c = r[keep], c[keep]
        rows.append((r + start).astype(np.int64))
        cols.append((c + start).astype(np.int64))
        vals.append((m[r, c] / np.float32(100.0)).astype(np.float32))
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
