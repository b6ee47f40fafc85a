"""Accuracy intervals and paired significance for 0/1 item scores, in numpy.

- `wilson`: the Wilson score 95% interval of one accuracy (closed form; what `ci95` is for a
  benchmark). Unlike the normal interval it stays inside [0, 1] and behaves at 0/n and n/n.
- `bootstrap_mean_ci`: a percentile bootstrap interval of the mean of several accuracies
  (the results table's average column), resampling each benchmark's items independently.
- `paired_bootstrap`: the paired bootstrap over items (Koehn 2004; Efron & Tibshirani 1993,
  sec. 16.4): resample item indices with replacement, the same indices for both arms, and
  read the difference of accuracies; the two-sided p-value is the share of resamples whose
  difference lies at least |delta| from the observed delta (the resampled differences,
  shifted to mean zero, stand in for the null distribution).

Resampling n 0/1 (or -1/0/+1) scores with replacement and summing them has exactly the
binomial (multinomial) distribution of the category counts, so each resample is drawn as
counts instead of n indices: the same distribution, O(resamples) work per cell instead of
O(resamples x n), vectorised over the benchmarks of a row. A test checks it against index
resampling. Seeds are explicit so a table is the same every time it is drawn.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054
RESAMPLES = 2_000  # p resolution 1/2001; Koehn (2004) used 1,000
SIGNIFICANT = (0.01, 0.05)  # p below these: "**", "*"


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of `correct` / `n` (0, 0 when n is 0)."""
    if n <= 0:
        return 0.0, 0.0
    p = correct / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def seed_for(*parts: object, base: int = 0) -> int:
    """A stable seed for one table cell (the same cell draws the same resamples every time)."""
    return (base * 1_000_003 + zlib.crc32("\x1f".join(map(str, parts)).encode())) % 2**32


def bootstrap_mean_ci(
    counts: Sequence[tuple[int, int]],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile interval of the mean accuracy over benchmarks [(correct, n), ...]."""
    usable = [(c, n) for c, n in counts if n > 0]
    if not usable:
        return 0.0, 0.0
    correct, n = (np.array(column) for column in zip(*usable, strict=True))
    draws = accuracy_draws(correct, n, resamples, np.random.default_rng(seed))
    low, high = np.quantile(draws.mean(axis=0), [0.025, 0.975])
    return float(low), float(high)


@dataclass(frozen=True)
class Paired:
    """A paired comparison of arm A against reference B on the same items.

    delta: accuracy(A) - accuracy(B) over the paired items (or the mean of the
    per-benchmark deltas, for an average); p: two-sided paired-bootstrap p-value;
    ci95: percentile interval of the delta; n: paired items.
    """

    delta: float
    p: float
    ci95: tuple[float, float]
    n: int

    @property
    def mark(self) -> str:
        """`**` for p < 0.01, `*` for p < 0.05, else empty."""
        return mark_for(self.p)


def mark_for(p: float | None) -> str:
    """The significance mark of a p-value: `**` below 0.01, `*` below 0.05."""
    if p is None:
        return ""
    strong, weak = SIGNIFICANT
    return "**" if p < strong else "*" if p < weak else ""


def paired_counts(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> tuple[int, int, int]:
    """(items A got and B missed, items B got and A missed, items in all)."""
    if a.shape != b.shape:
        raise ValueError("paired scores need the same items in the same order")
    a_only = int(np.count_nonzero(a & ~b & 1))
    b_only = int(np.count_nonzero(b & ~a & 1))
    return a_only, b_only, int(a.size)


def paired_bootstrap(
    a: npt.NDArray[np.uint8],
    b: npt.NDArray[np.uint8],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Paired:
    """Paired bootstrap of accuracy(a) - accuracy(b); `a` and `b` are 0/1 per item, aligned."""
    a_only, b_only, n = paired_counts(a, b)
    draws = paired_delta_draws(
        np.array([a_only]), np.array([b_only]), np.array([n]), resamples,
        np.random.default_rng(seed),
    )  # fmt: skip
    return summarise((a_only - b_only) / n if n else 0.0, draws[0], n)


Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def paired_delta_draws(
    a_only: Ints, b_only: Ints, n: Ints, resamples: int, rng: np.random.Generator
) -> Floats:
    """Bootstrap replicates of paired accuracy differences, one row per benchmark.

    A replicate resamples each benchmark's n items with replacement; only how many of them
    A alone (U) and B alone (V) got right moves the difference. (U, V, rest) is multinomial,
    drawn as U ~ Bin(n, a/n) and V | U ~ Bin(n - U, b / (n - a)): the same distribution, and
    two vectorised binomial draws are ~1.6x faster than `Generator.multinomial` here.
    """
    n = np.maximum(n, 1)
    first = rng.binomial(n[:, None], (a_only / n)[:, None], size=(len(n), resamples))
    rest = np.where(n - a_only > 0, b_only / np.maximum(n - a_only, 1), 0.0)
    second = rng.binomial(n[:, None] - first, np.clip(rest, 0.0, 1.0)[:, None])
    deltas: Floats = (first - second) / n[:, None]
    return deltas


def accuracy_draws(correct: Ints, n: Ints, resamples: int, rng: np.random.Generator) -> Floats:
    """Bootstrap replicates of accuracies (binomial counts of the n items), one row each."""
    n = np.maximum(n, 1)
    draws: Floats = (
        rng.binomial(n[:, None], (correct / n)[:, None], size=(len(n), resamples)) / (n[:, None])
    )
    return draws


def summarise_many(observed: Floats, deltas: Floats, n: Ints) -> list[Paired]:
    """`summarise` for several benchmarks at once (one row of `deltas` each)."""
    if len(observed) == 0:
        return []
    extreme = np.count_nonzero(
        np.abs(deltas - observed[:, None]) >= np.abs(observed)[:, None] - 1e-12, axis=1
    )
    p = np.where(observed == 0.0, 1.0, (extreme + 1) / (deltas.shape[1] + 1))
    low, high = np.quantile(deltas, [0.025, 0.975], axis=1)
    return [
        Paired(float(observed[i]), float(p[i]), (float(low[i]), float(high[i])), int(n[i]))
        if n[i] > 0
        else Paired(0.0, 1.0, (0.0, 0.0), 0)
        for i in range(len(observed))
    ]


def summarise(observed: float, deltas: Floats, n: int) -> Paired:
    """A `Paired` from the observed difference and its bootstrap replicates.

    Two-sided p: the share of replicates at least |observed| away from the observed
    difference (the replicates centred on it stand in for the null), counted with the
    observed sample itself, so p is never 0 and equals 1 when the arms never differ.
    """
    if n <= 0:
        return Paired(0.0, 1.0, (0.0, 0.0), 0)
    if observed == 0.0:
        p = 1.0
    else:
        extreme = int(np.count_nonzero(np.abs(deltas - observed) >= abs(observed) - 1e-12))
        p = (extreme + 1) / (len(deltas) + 1)
    low, high = np.quantile(deltas, [0.025, 0.975])
    return Paired(observed, p, (float(low), float(high)), n)
