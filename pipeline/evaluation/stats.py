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
multinomial distribution of the category counts, so each resample is drawn as counts
(`Generator.multinomial`) instead of n indices: the same distribution, O(resamples) work
per cell instead of O(resamples x n). A test checks it against index resampling. Seeds are
explicit so a table is the same every time it is drawn.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054
RESAMPLES = 10_000
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
    rng = np.random.default_rng(seed)
    means = sum(accuracy_draws(c, n, resamples, rng) for c, n in usable) / len(usable)
    low, high = np.quantile(means, [0.025, 0.975])
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
        strong, weak = SIGNIFICANT
        return "**" if self.p < strong else "*" if self.p < weak else ""


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
    draws = paired_deltas(a_only, b_only, n, resamples, np.random.default_rng(seed))
    return summarise((a_only - b_only) / n if n else 0.0, draws, n)


def paired_deltas(
    a_only: int, b_only: int, n: int, resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """`resamples` bootstrap replicates of the paired accuracy difference (see the module doc).

    Each replicate resamples the n items with replacement; only how many of them A alone
    and B alone got right moves the difference, and those counts are one multinomial draw.
    """
    if n <= 0:
        return np.zeros(resamples)
    share = [a_only / n, b_only / n, max(0.0, 1.0 - (a_only + b_only) / n)]
    draws = rng.multinomial(n, share, size=resamples)
    deltas: npt.NDArray[np.float64] = (draws[:, 0] - draws[:, 1]) / n
    return deltas


def accuracy_draws(
    correct: int, n: int, resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """`resamples` bootstrap replicates of one accuracy (a binomial count of the n items)."""
    if n <= 0:
        return np.zeros(resamples)
    draws: npt.NDArray[np.float64] = rng.binomial(n, correct / n, size=resamples) / n
    return draws


def summarise(observed: float, deltas: npt.NDArray[np.float64], n: int) -> Paired:
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
