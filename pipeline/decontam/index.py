"""An n-gram index over benchmark items and containment scoring of problems against it.

The FLAMES rule: a problem is contaminated when it contains at least a share
(0.95) of the distinct word 8-grams of some benchmark item. Words get ids from
the benchmark vocabulary (a problem word outside it cannot be in a shared
n-gram), n-grams are hashed to uint64 with numpy, and the index is a sorted
array searched with `np.searchsorted`. Items shorter than n words are matched
by normalised exact containment: the problem must hold the item's whole word
sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipeline.benchmarks import BenchItem
from pipeline.dedup.text import normalize

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_PRIME = np.uint64(0x100000001B3)


def _mix(x: U64) -> U64:
    with np.errstate(over="ignore"):
        z = x ^ (x >> np.uint64(33))
        z = z * np.uint64(0xFF51AFD7ED558CCD)
        z = z ^ (z >> np.uint64(33))
        z = z * np.uint64(0xC4CEB9FE1A85EC53)
        out: U64 = z ^ (z >> np.uint64(33))
        return out


def word_grams(offsets: I64, ids: I64, n: int) -> tuple[I64, U64]:
    """All word n-grams of each text that contain no unknown word (id 0): (text index, hash)."""
    m = len(ids)
    lengths = np.diff(offsets)
    if m < n:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    starts = np.arange(m - n + 1)
    doc = np.repeat(np.arange(len(lengths)), lengths)[: m - n + 1]
    inside = starts + n <= offsets[doc + 1]
    zeros = np.concatenate(([0], np.cumsum(ids == 0)))
    known = zeros[starts + n] - zeros[starts] == 0
    keep = inside & known
    h = np.zeros(m - n + 1, np.uint64)
    values = ids.astype(np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _PRIME + values[k : k + m - n + 1]
    return doc[keep], _mix(h[keep] + np.uint64(n))


def _distinct_pairs(doc: I64, gram: U64) -> tuple[I64, U64]:
    if len(doc) == 0:
        return doc, gram
    order = np.lexsort((gram, doc))
    doc, gram = doc[order], gram[order]
    head = np.r_[True, (doc[1:] != doc[:-1]) | (gram[1:] != gram[:-1])]
    return doc[head], gram[head]


@dataclass
class Matches:
    """Per problem: the largest containment share and the item that gives it (-1: none)."""

    overlap: F32
    item: I64


class NgramIndex:
    """Distinct word n-grams of benchmark items, searchable in bulk."""

    def __init__(self, items: Sequence[BenchItem], n: int = 8) -> None:
        self.items = list(items)
        self.n = n
        self.vocab: dict[str, int] = {}
        normalized = [normalize(item.text) for item in self.items]
        offsets, ids = self._ids(normalized, grow=True)
        lengths = np.diff(offsets)
        self.empty = int((lengths == 0).sum())
        # Long items: distinct n-grams, sorted, with their item.
        doc, gram = _distinct_pairs(*word_grams(offsets, ids, n))
        order = np.argsort(gram, kind="stable")
        self.keys, self.key_item = gram[order], doc[order]
        self.gram_count = np.bincount(doc, minlength=len(self.items)).astype(np.int64)
        # Short items: the hash of the whole word sequence, per length.
        self.short: dict[int, tuple[U64, I64]] = {}
        for w in sorted(set(lengths[(lengths > 0) & (lengths < n)].tolist())):
            members = np.flatnonzero(lengths == w)
            sub_off = np.concatenate(([0], np.cumsum(lengths[members])))
            sub_ids = np.concatenate([ids[offsets[i] : offsets[i + 1]] for i in members])
            d, g = word_grams(sub_off, sub_ids, w)
            order = np.argsort(g, kind="stable")
            self.short[w] = (g[order], members[d[order]])

    def _ids(self, texts: Sequence[str], grow: bool) -> tuple[I64, I64]:
        vocab = self.vocab
        if grow:
            ids = [vocab.setdefault(w, len(vocab) + 1) for t in texts for w in t.split()]
        else:
            ids = [vocab.get(w, 0) for t in texts for w in t.split()]
        lengths = np.fromiter((t.count(" ") + 1 if t else 0 for t in texts), np.int64, len(texts))
        return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64), np.asarray(ids, np.int64)

    @property
    def short_items(self) -> int:
        return sum(len(v[1]) for v in self.short.values())

    def match(self, texts: Sequence[str]) -> Matches:
        """Best containment share of any item in each of `texts` (raw; normalised here)."""
        n_docs = len(texts)
        offsets, ids = self._ids([normalize(t) for t in texts], grow=False)
        best = np.zeros(n_docs, np.float32)
        best_item = np.full(n_docs, -1, np.int64)
        n_items = np.int64(max(len(self.items), 1))
        if len(self.keys):
            doc, gram = _distinct_pairs(*word_grams(offsets, ids, self.n))
            lo = np.searchsorted(self.keys, gram, side="left")
            hi = np.searchsorted(self.keys, gram, side="right")
            hits = hi - lo
            doc_rep = np.repeat(doc, hits)
            at = np.repeat(lo, hits) + (
                np.arange(int(hits.sum())) - np.repeat(np.cumsum(hits) - hits, hits)
            )
            code = np.sort(doc_rep * n_items + self.key_item[at])
            if len(code):
                head = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
                counts = np.diff(np.r_[head, len(code)])
                pair = code[head]
                d, item = pair // n_items, pair % n_items
                share = (counts / self.gram_count[item]).astype(np.float32)
                self._keep_best(best, best_item, d, item, share)
        for w, (keys, members) in self.short.items():
            doc, gram = word_grams(offsets, ids, w)
            pos = np.searchsorted(keys, gram)
            pos = np.minimum(pos, len(keys) - 1)
            found = keys[pos] == gram
            self._keep_best(
                best,
                best_item,
                doc[found],
                members[pos[found]],
                np.ones(int(found.sum()), np.float32),
            )
        return Matches(overlap=best, item=best_item)

    @staticmethod
    def _keep_best(best: F32, best_item: I64, doc: I64, item: I64, share: F32) -> None:
        """Fold (doc, item, share) into the running best; ties go to the earlier item."""
        if len(doc) == 0:
            return
        order = np.lexsort((item, -share, doc))
        doc, item, share = doc[order], item[order], share[order]
        head = np.r_[True, doc[1:] != doc[:-1]]
        doc, item, share = doc[head], item[head], share[head]
        current = best_item[doc]
        better = (share > best[doc]) | ((share == best[doc]) & ((current < 0) | (item < current)))
        best[doc[better]] = share[better]
        best_item[doc[better]] = item[better]
