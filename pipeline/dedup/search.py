"""Near-duplicate pair search: blocking, then exact scoring of the candidates.

1. MinHash-LSH over word bigrams proposes candidate pairs (`blocking`).
2. A length bound drops pairs that cannot reach the cutoff (Indel scorer only).
3. rapidfuzz scores the rest exactly (`scoring.score_pairs`).
4. Neighbour expansion: texts that share a close neighbour are scored too, a few
   rounds. Near-duplicates come in families (a problem and its variants), and a
   pair that LSH missed is almost always linked through a third member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.dedup import blocking
from pipeline.dedup.scoring import DEFAULT_SCORER, length_bound, score_pairs
from pipeline.progress import Overall, ProgressEvent, Reporter, ignore

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
_SCORE_CHUNK = 2_000_000
STEPS = ("signatures", "blocking", "scoring", "expansion")  # one share of the bar each
Ids = npt.NDArray[Any]  # int32 ids where they fit (halves expansion memory), else int64


@dataclass(frozen=True)
class SearchOptions:
    """Knobs of the blocked search; the defaults reach >= 0.99 recall at T=0.9 on perturbed sets."""

    scorer: str = DEFAULT_SCORER
    ngram: int = 2
    bands: int = 30
    rows: int = 3
    max_bucket: int = 200
    expand_rounds: int = 2
    expand_min: float = 0.8
    expand_neighbours: int = 12


@dataclass
class PairScores:
    """Scored pairs i<j over the searched texts, sorted by (i, j)."""

    left: I64
    right: I64
    score: F32

    def __len__(self) -> int:
        return len(self.left)

    def at_least(self, threshold: float) -> PairScores:
        keep = self.score >= np.float32(threshold) - np.float32(1e-6)
        return PairScores(self.left[keep], self.right[keep], self.score[keep])


def _split(codes: I64, n: int) -> tuple[I64, I64]:
    return codes // n, codes % n


def _score_codes(
    texts: Sequence[str], lengths: I64, codes: I64, options: SearchOptions, cutoff: float
) -> tuple[I64, F32]:
    """Score candidate codes; returns the codes kept (score >= cutoff) and their scores.

    A chunk of codes at a time, so the temporaries stay small next to the candidates.
    """
    n = len(texts)
    kept: list[I64] = [np.empty(0, np.int64)]
    kept_scores: list[F32] = [np.empty(0, np.float32)]
    for start in range(0, len(codes), _SCORE_CHUNK):
        part = codes[start : start + _SCORE_CHUNK]
        left, right = _split(part, n)
        if options.scorer == "ratio":
            fits = length_bound(lengths[left], lengths[right]) >= np.float32(cutoff) - 1e-6
            part, left, right = part[fits], left[fits], right[fits]
        scores = score_pairs(texts, left, right, options.scorer, cutoff)
        keep = scores > 0
        kept.append(part[keep])
        kept_scores.append(scores[keep])
    return np.concatenate(kept), np.concatenate(kept_scores)


def _not_in(candidates: I64, seen: I64) -> I64:
    """The sorted unique `candidates` that are not in the sorted unique `seen`."""
    if len(seen) == 0:
        return candidates
    at = np.minimum(np.searchsorted(seen, candidates), len(seen) - 1)
    missing: I64 = candidates[seen[at] != candidates]
    return missing


def _neighbour_order(centre: Ids, weight: F32, other: Ids, n: int) -> I64:
    """Order by (centre, best weight first, earlier other): one packed-key sort when it fits."""
    bits = max(int(n - 1).bit_length(), 1)
    if 2 * bits + 16 > 64:
        order: I64 = np.lexsort((other, -weight, centre))
        return order
    # In-place shifts and ors: each temporary of a few 10M entries costs hundreds of MB.
    key = centre.astype(np.uint64)
    key <<= np.uint64(bits + 16)
    drop = np.round((1.0 - np.clip(weight, 0.0, 1.0)) * 65535).astype(np.uint64)
    drop <<= np.uint64(bits)
    key |= drop
    del drop
    key |= other.astype(np.uint64)
    order = np.argsort(key)
    return order


def _expansion_candidates(
    codes: I64,
    scores: F32,
    n: int,
    options: SearchOptions,
    seen: I64,
    centres: I64 | None = None,
    chunk: int = 1_000_000,
) -> I64:
    """Pairs of texts that are both close neighbours of one text and not in `seen`, sorted.

    With `centres`, only those texts' neighbour lists are used (the ones that changed).
    Pairs are made a chunk of neighbour lists at a time, so memory stays bounded.
    """
    if len(codes) == 0:
        return codes
    left, right = _split(codes, n)
    small = np.int32 if n < 2**31 else np.int64
    centre = np.concatenate((left, right)).astype(small)
    other = np.concatenate((right, left)).astype(small)
    del left, right
    w = np.concatenate((scores, scores))
    if centres is not None:
        wanted = np.zeros(n, bool)
        wanted[centres] = True
        keep = wanted[centre]
        centre, other, w = centre[keep], other[keep], w[keep]
    # Each centre keeps its best `expand_neighbours` neighbours (ties: earlier text).
    order = _neighbour_order(centre, w, other, n)
    centre, other = centre[order], other[order]
    starts = np.flatnonzero(np.r_[True, centre[1:] != centre[:-1]])
    rank = np.arange(len(centre)) - np.repeat(starts, np.diff(np.r_[starts, len(centre)]))
    top = rank < options.expand_neighbours
    centre, other = centre[top], other[top]
    del rank, top, order
    bounds = np.flatnonzero(np.r_[True, centre[1:] != centre[:-1]])
    fresh: list[I64] = [np.empty(0, np.int64)]
    start = 0
    while start < len(centre):
        # End the chunk on a centre boundary so no neighbour list is split.
        at = int(np.searchsorted(bounds, start + chunk, side="left"))
        stop = int(bounds[at]) if at < len(bounds) else len(centre)
        sub_centre, sub_other = centre[start:stop], other[start:stop]
        pairs = blocking.bucket_pairs(
            sub_centre.astype(np.uint64), np.arange(len(sub_centre)), options.expand_neighbours
        )
        a, b = _split(pairs, len(sub_centre))
        x, y = sub_other[a].astype(np.int64), sub_other[b].astype(np.int64)
        differ = x != y
        x, y = x[differ], y[differ]
        fresh.append(_not_in(blocking.sorted_unique(np.minimum(x, y) * n + np.maximum(x, y)), seen))
        start = stop
    return blocking.sorted_unique(np.concatenate(fresh))


def search_pairs(
    texts: Sequence[str],
    cutoff: float,
    options: SearchOptions | None = None,
    progress: Reporter = ignore,
) -> PairScores:
    """Pairs of `texts` (normalised, distinct, non-empty) whose score is >= cutoff, found by blocking."""
    opts = options or SearchOptions()
    n = len(texts)
    steps = Overall(progress, [f"dedup {s}" for s in STEPS], label="dedup")

    def report(step: str, done: int, total: int) -> None:
        steps(ProgressEvent(f"dedup {step}", done, total))

    if n < 2:
        empty = np.empty(0, np.int64)
        return PairScores(empty, empty, np.empty(0, np.float32))
    lengths = np.fromiter((len(t) for t in texts), np.int64, n)
    plan = blocking.LshPlan(bands=opts.bands, rows=opts.rows)
    report("signatures", 0, 1)
    offsets, ids = blocking.word_ids(texts)
    sig = blocking.text_signatures(offsets, ids, opts.ngram, plan.num_perm)
    del offsets, ids
    report("signatures", 1, 1)
    active = np.arange(n, dtype=np.int64)
    found = np.empty(0, np.int64)
    pending: list[I64] = []
    for band, codes in enumerate(blocking.candidate_pairs(sig, plan, active, opts.max_bucket)):
        # Most pairs recur in many bands: keep only the new ones, merge them now and then.
        pending.append(_not_in(blocking.sorted_unique(codes), found))
        if sum(len(c) for c in pending) > max(len(found) // 4, 2_000_000):
            found = blocking.sorted_unique(np.concatenate([found, *pending]))
            pending = []
        report("blocking", band + 1, plan.bands)
    found = blocking.sorted_unique(np.concatenate([found, *pending]))
    del sig, pending
    # Score down to the expansion level: weaker links still reveal families.
    work_cut = min(cutoff, opts.expand_min)
    seen = found
    kept, scores = _score_codes(texts, lengths, found, opts, work_cut)
    report("scoring", 1, 1)
    changed: I64 | None = None
    for round_ in range(opts.expand_rounds):
        fresh = _expansion_candidates(kept, scores, n, opts, seen, changed)
        if len(fresh) == 0:
            break
        seen = np.sort(np.concatenate((seen, fresh)))
        more, more_scores = _score_codes(texts, lengths, fresh, opts, work_cut)
        changed = np.unique(np.concatenate(_split(more, n)))
        codes_all = np.concatenate((kept, more))
        order = np.argsort(codes_all, kind="stable")
        kept, scores = codes_all[order], np.concatenate((scores, more_scores))[order]
        report("expansion", round_ + 1, opts.expand_rounds)
    left, right = _split(kept, n)
    return PairScores(left, right, scores).at_least(cutoff)
