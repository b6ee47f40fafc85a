"""Candidate blocking: MinHash-LSH over word shingles, vectorised with numpy.

Exhaustive scoring of n texts costs n^2/2 comparisons. MinHash signatures put
texts whose shingle sets overlap strongly into the same band bucket, so only
pairs that share a bucket are scored exactly. Hashing is numpy arithmetic on
word ids (no per-document Python loop), which keeps a million texts in minutes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_SEED = 0x5EED_F1A3


@dataclass(frozen=True)
class LshPlan:
    """How signatures are cut: `bands` bands of `rows` hash values each."""

    bands: int
    rows: int

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def hit_probability(self, jaccard: float) -> float:
        """Chance that two sets with this Jaccard similarity share at least one bucket."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


def _mix(x: U64) -> U64:
    """SplitMix64 finaliser: spreads word ids over all 64 bits before multiply-shift hashing."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def word_ids(texts: Sequence[str]) -> tuple[I64, I64]:
    """Ragged word ids of normalised texts: (offsets of length n+1, ids)."""
    # Ids in order of first appearance: deterministic, unlike str hashes (PYTHONHASHSEED).
    vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    # Chunks keep the temporary Python int list small (a million texts hold ~45M words).
    parts = [
        np.asarray([vocab[w] for t in texts[s : s + 50_000] for w in t.split()], np.int64)
        for s in range(0, len(texts), 50_000)
    ]
    lengths = np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), np.int64, len(texts))
    offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = np.concatenate(parts) if parts else np.empty(0, np.int64)
    return offsets, ids


def shingles(offsets: I64, ids: I64, n: int) -> tuple[I64, U64]:
    """Hashed word n-grams per text, as (offsets, hashes); a text shorter than n keeps one shingle.

    The n-grams never cross a text boundary. Texts with no words get no shingles.
    """
    lengths = np.diff(offsets)
    if n <= 1 or len(ids) == 0:
        return offsets, _mix(ids.astype(np.uint64))
    h = _mix(ids.astype(np.uint64))
    m = len(ids)
    doc_of = np.repeat(np.arange(len(lengths)), lengths)
    start_in_doc = np.arange(m) - offsets[doc_of]
    remaining = lengths[doc_of] - start_in_doc
    gram = np.zeros(m, np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            part = np.zeros(m, np.uint64)
            part[: m - k] = h[k:]
            # Words past the end of the text never enter its grams.
            gram = np.where(remaining > k, gram * np.uint64(0x100000001B3) + part, gram)
    full = remaining >= n
    # A short text (fewer than n words) keeps its first position's partial gram as its only shingle.
    short_first = (lengths[doc_of] < n) & (start_in_doc == 0)
    keep = full | short_first
    new_lengths = np.bincount(doc_of[keep], minlength=len(lengths)).astype(np.int64)
    new_offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(new_lengths, out=new_offsets[1:])
    return new_offsets, _mix(gram[keep])


def sorted_unique(values: I64) -> I64:
    """Sorted distinct values (numpy's hash-based `unique` is slower on large int arrays)."""
    if len(values) == 0:
        return values
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def _hash_params(num_perm: int) -> tuple[U32, U32]:
    rng = np.random.default_rng(_SEED)
    a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)
    return a, b


def signatures(offsets: I64, hashes: U64, num_perm: int, chunk: int = 20_000) -> U32:
    """MinHash signatures as a (num_perm x n) uint32 array; columns of empty texts are all max.

    Each permutation is an odd affine map mod 2^32 followed by an xorshift, on
    32 bits of the mixed shingle hash: uint32 arithmetic vectorises well and is
    ~10x faster than 64-bit products. `chunk` bounds the shingles hashed at once.
    """
    n = len(offsets) - 1
    a, b = _hash_params(num_perm)
    out = np.full((num_perm, n), np.iinfo(np.uint32).max, np.uint32)
    x32 = (hashes >> np.uint64(32)).astype(np.uint32)
    lengths = np.diff(offsets)
    nonempty = np.flatnonzero(lengths > 0)
    ends = offsets[nonempty + 1]
    start = 0
    while start < len(nonempty):
        lo = offsets[nonempty[start]]
        stop = max(int(np.searchsorted(ends, lo + chunk, side="right")), start + 1)
        docs = nonempty[start:stop]
        hi = offsets[docs[-1] + 1]
        with np.errstate(over="ignore"):
            values = a[:, None] * x32[None, lo:hi]
            values += b[:, None]
            values ^= values >> np.uint32(15)
        out[:, docs] = np.minimum.reduceat(values, offsets[docs] - lo, axis=1)
        start = stop
    return out


def text_signatures(
    offsets: I64, ids: I64, ngram: int, num_perm: int, texts_per_chunk: int = 50_000
) -> U32:
    """MinHash signatures (num_perm x n) of word n-gram shingles, a chunk of texts at a time.

    Chunking bounds the shingle arrays (a million texts hold ~45M words) to one chunk's worth.
    """
    n = len(offsets) - 1
    out = np.empty((num_perm, n), np.uint32)
    for start in range(0, n, texts_per_chunk):
        stop = min(start + texts_per_chunk, n)
        lo, hi = offsets[start], offsets[stop]
        sub_offsets = offsets[start : stop + 1] - lo
        sh_offsets, hashes = shingles(sub_offsets, ids[lo:hi], ngram)
        out[:, start:stop] = signatures(sh_offsets, hashes, num_perm)
    return out


def _band_keys(sig: U32, band: int, rows: int) -> U64:
    key = np.full(sig.shape[1], np.uint64(band + 1), np.uint64)
    with np.errstate(over="ignore"):
        for row in sig[band * rows : (band + 1) * rows]:
            key = _mix(key * np.uint64(0x100000001B3) + row.astype(np.uint64))
    return key


def bucket_pairs(keys: U64, active: I64, max_bucket: int) -> I64:
    """Pairs (as i*n+j codes, i<j) of texts whose keys are equal.

    A bucket larger than `max_bucket` links each text only to the next
    `max_bucket` texts of that bucket, which bounds the work on degenerate
    inputs while keeping every bucket connected.
    """
    order = np.argsort(keys[active], kind="stable")
    members = active[order]
    sorted_keys = keys[members]
    if len(members) < 2:
        return np.empty(0, np.int64)
    brk = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate(([0], brk))
    sizes = np.diff(np.concatenate((starts, [len(members)])))
    multi = sizes > 1
    starts, sizes = starts[multi], sizes[multi]
    if len(starts) == 0:
        return np.empty(0, np.int64)
    # For the element at offset k of a bucket of size s: partners k+1 .. min(s-1, k+max_bucket).
    pos_group = np.repeat(np.arange(len(starts)), sizes)
    offset_in = np.arange(len(pos_group)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    positions = np.repeat(starts, sizes) + offset_in
    partners = np.minimum(sizes[pos_group] - 1 - offset_in, max_bucket)
    left = np.repeat(positions, partners)
    step = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + step
    a, b = members[left], members[right]
    n = np.int64(len(keys))
    codes: I64 = np.minimum(a, b) * n + np.maximum(a, b)
    return codes


def candidate_pairs(sig: U32, plan: LshPlan, active: I64, max_bucket: int = 1000) -> Iterator[I64]:
    """Candidate pair codes band by band (may repeat across bands; the caller deduplicates)."""
    for band in range(plan.bands):
        yield bucket_pairs(_band_keys(sig, band, plan.rows), active, max_bucket)
