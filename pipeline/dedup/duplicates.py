"""Exact and near-duplicate detection over a list of texts: pairs, nearest neighbours, clusters.

Texts are normalised, exact duplicates collapse to one distinct text (always
on), the distinct texts are searched for near pairs, and the results are
mapped back to every item. Items are identified by their position; "earlier"
means a smaller position, which is how ties are broken everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipeline.dedup.search import PairScores, SearchOptions, search_pairs
from pipeline.dedup.text import normalize
from pipeline.errors import ConfigError
from pipeline.progress import Reporter, ignore

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass
class DedupResult:
    """Everything found about a list of items; arrays are indexed by item position."""

    threshold: float
    unique_of: I64  # item -> distinct-text index, -1 for an empty text
    members: list[I64]  # distinct-text index -> its item positions, ascending
    pairs: PairScores  # distinct-text pairs with score >= min(threshold, nn_floor)
    is_exact_dup: npt.NDArray[np.bool_]  # an earlier item has the same normalised text
    nn: I64  # most similar other item (-1: none found above the floor)
    nn_sim: F32
    representative: I64  # the item that represents this item's cluster
    floor: float = 0.0  # the lowest score kept in `pairs`
    dup_of: I64 | None = None  # most similar item that outranks this one (-1: none)
    dup_of_sim: F32 | None = None

    @property
    def n_items(self) -> int:
        return len(self.unique_of)

    @property
    def n_empty(self) -> int:
        return int((self.unique_of < 0).sum())

    @property
    def n_clusters(self) -> int:
        return len(np.unique(self.representative))

    def item_pairs(
        self, threshold: float | None = None, chunk: int = 100_000
    ) -> Iterator[tuple[I64, I64, F32]]:
        """Item pairs (a < b) with score >= threshold, in chunks: exact duplicates, then near pairs."""
        limit = self.threshold if threshold is None else threshold
        exact_a: list[I64] = []
        exact_b: list[I64] = []
        for group in self.members:
            if len(group) > 1:
                ia, ib = np.triu_indices(len(group), k=1)
                exact_a.append(group[ia])
                exact_b.append(group[ib])
        if exact_a:
            a, b = np.concatenate(exact_a), np.concatenate(exact_b)
            for s in range(0, len(a), chunk):
                yield a[s : s + chunk], b[s : s + chunk], np.ones(len(a[s : s + chunk]), np.float32)
        near = self.pairs.at_least(limit)
        first = np.fromiter((m[0] for m in self.members), np.int64, len(self.members))
        sizes = np.fromiter((len(m) for m in self.members), np.int64, len(self.members))
        # Distinct-text order is first-appearance order, so left < right maps to a < b.
        single = (sizes[near.left] == 1) & (sizes[near.right] == 1)
        sa, sb, ss = first[near.left[single]], first[near.right[single]], near.score[single]
        for s in range(0, len(sa), chunk):
            yield sa[s : s + chunk], sb[s : s + chunk], ss[s : s + chunk]
        rest = np.flatnonzero(~single)
        buf_a: list[I64] = []
        buf_b: list[I64] = []
        buf_s: list[F32] = []
        size = 0
        for k in rest.tolist():
            mu, mv = self.members[int(near.left[k])], self.members[int(near.right[k])]
            aa = np.repeat(mu, len(mv))
            bb = np.tile(mv, len(mu))
            buf_a.append(np.minimum(aa, bb))
            buf_b.append(np.maximum(aa, bb))
            buf_s.append(np.full(len(aa), near.score[k], np.float32))
            size += len(aa)
            if size >= chunk:
                yield np.concatenate(buf_a), np.concatenate(buf_b), np.concatenate(buf_s)
                buf_a, buf_b, buf_s, size = [], [], [], 0
        if buf_a:
            yield np.concatenate(buf_a), np.concatenate(buf_b), np.concatenate(buf_s)


def _distinct(normalized: Sequence[str]) -> tuple[I64, list[str], list[I64]]:
    index: dict[str, int] = {}
    unique_of = np.full(len(normalized), -1, np.int64)
    positions: list[list[int]] = []
    for pos, text in enumerate(normalized):
        if not text:
            continue
        u = index.setdefault(text, len(index))
        if u == len(positions):
            positions.append([])
        positions[u].append(pos)
        unique_of[pos] = u
    members = [np.asarray(p, np.int64) for p in positions]
    return unique_of, list(index), members


def _best_neighbour(pairs: PairScores, n_unique: int, first: I64) -> tuple[I64, F32]:
    """Per distinct text: the most similar other one (ties: earliest first item), -1 if none."""
    best = np.full(n_unique, -1, np.int64)
    best_sim = np.zeros(n_unique, np.float32)
    if len(pairs) == 0:
        return best, best_sim
    centre = np.concatenate((pairs.left, pairs.right))
    other = np.concatenate((pairs.right, pairs.left))
    sim = np.concatenate((pairs.score, pairs.score))
    order = np.lexsort((first[other], -sim, centre))
    centre, other, sim = centre[order], other[order], sim[order]
    head = np.r_[True, centre[1:] != centre[:-1]]
    best[centre[head]] = other[head]
    best_sim[centre[head]] = sim[head]
    return best, best_sim


def _components(pairs: PairScores, n_unique: int) -> I64:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(len(pairs), np.int8), (pairs.left, pairs.right)), shape=(n_unique, n_unique)
    )
    _, labels = connected_components(graph, directed=False)
    result: I64 = np.asarray(labels, np.int64)
    return result


def _representatives(component: I64, preference: F64 | None) -> I64:
    """Per item: the item of its component with the highest preference, ties to the earliest."""
    n = len(component)
    if n == 0:
        return np.empty(0, np.int64)
    position = np.arange(n, dtype=np.int64)
    pref = np.zeros(n) if preference is None else np.nan_to_num(preference, nan=-np.inf)
    order = np.lexsort((position, -pref, component))
    comp_sorted = component[order]
    head = np.r_[True, comp_sorted[1:] != comp_sorted[:-1]]
    rep_of_comp = np.empty(int(component.max()) + 1, np.int64)
    rep_of_comp[comp_sorted[head]] = order[head]
    return rep_of_comp[component]


def _rank(n: int, preference: F64 | None) -> I64:
    """Rank of each item as a representative: preferred first, then earliest."""
    position = np.arange(n, dtype=np.int64)
    pref = np.zeros(n) if preference is None else np.nan_to_num(preference, nan=-np.inf)
    rank = np.empty(n, np.int64)
    rank[np.lexsort((position, -pref))] = position
    return rank


def _outranking_neighbour(result: DedupResult, rank: I64) -> tuple[I64, F32]:
    """Per item: the most similar item that outranks it (ties: the better ranked one)."""
    n = result.n_items
    best = np.full(n, -1, np.int64)
    best_sim = np.zeros(n, np.float32)
    for a, b, s in result.item_pairs(result.floor):
        a_wins = rank[a] < rank[b]
        low, high = np.where(a_wins, b, a), np.where(a_wins, a, b)
        order = np.lexsort((rank[high], -s, low))
        low, high, s = low[order], high[order], s[order]
        head = np.r_[True, low[1:] != low[:-1]]
        low, high, s = low[head], high[head], s[head]
        current = best[low]
        better = (
            (current < 0)
            | (s > best_sim[low])
            | ((s == best_sim[low]) & (rank[high] < rank[np.maximum(current, 0)]))
        )
        best[low[better]] = high[better]
        best_sim[low[better]] = s[better]
    return best, best_sim


def find_duplicates(
    texts: Sequence[str],
    threshold: float,
    *,
    nn_floor: float | None = None,
    preference: Sequence[float] | None = None,
    options: SearchOptions | None = None,
    progress: Reporter = ignore,
) -> DedupResult:
    """Exact and near duplicates among `texts` (raw; normalised here).

    Pairs with score >= threshold form clusters (connected components); each
    item's nearest neighbour is kept down to `nn_floor` (default: the threshold)
    so a threshold slider can be a query later.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"--threshold must be in (0, 1], got {threshold}")
    floor = threshold if nn_floor is None else min(nn_floor, threshold)
    if not 0.0 < floor <= 1.0:
        raise ConfigError(f"nearest-neighbour floor must be in (0, 1], got {nn_floor}")
    n = len(texts)
    normalized = [normalize(t) for t in texts]
    unique_of, distinct, members = _distinct(normalized)
    del normalized
    first = np.asarray([m[0] for m in members], np.int64)
    pairs = search_pairs(distinct, floor, options, progress)
    best, best_sim = _best_neighbour(pairs, len(distinct), first)

    is_exact_dup = np.zeros(n, bool)
    nn = np.full(n, -1, np.int64)
    nn_sim = np.zeros(n, np.float32)
    has = unique_of >= 0
    u_of = unique_of[has]
    pos = np.flatnonzero(has)
    near = best[u_of]
    nn[pos] = np.where(near >= 0, first[np.maximum(near, 0)], -1)
    nn_sim[pos] = best_sim[u_of]
    for group in members:
        if len(group) > 1:
            is_exact_dup[group[1:]] = True
            # An exact copy scores 1.0; the earliest other copy wins unless an earlier item ties.
            earliest_other = np.where(group == group[0], group[1], group[0])
            current = nn[group]
            tie_earlier = (nn_sim[group] >= 1.0) & (current >= 0) & (current < earliest_other)
            nn[group] = np.where(tie_earlier, current, earliest_other)
            nn_sim[group] = 1.0

    strong = pairs.at_least(threshold)
    component_u = _components(strong, len(distinct))
    component = np.empty(n, np.int64)
    component[pos] = component_u[u_of]
    # Empty texts are their own clusters, numbered after every real component.
    empty = np.flatnonzero(~has)
    component[empty] = (component_u.max() + 1 if len(component_u) else 0) + np.arange(len(empty))
    pref = None if preference is None else np.asarray(preference, np.float64)
    if pref is not None and len(pref) != n:
        raise ConfigError(f"{len(pref)} preferences for {n} texts")
    representative = _representatives(component, pref)
    result = DedupResult(
        threshold=threshold,
        unique_of=unique_of,
        members=members,
        pairs=pairs,
        is_exact_dup=is_exact_dup,
        nn=nn,
        nn_sim=nn_sim,
        representative=representative,
        floor=floor,
    )
    result.dup_of, result.dup_of_sim = _outranking_neighbour(result, _rank(n, pref))
    return result
