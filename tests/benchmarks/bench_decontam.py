"""Decontamination throughput and accuracy against GSM8K test + MATH-500 + CollegeMath.

The problem set mixes clean problems (GSM8K train and perturbed variants of
them) with planted benchmark items: verbatim inside extra text (must be caught)
and with one number changed (reported separately: the 8-gram rule may miss them).
A pure-Python dict-of-n-grams matcher on a subset is the same-process baseline
and the correctness check. Goal: 1M problems < 5 min on this 2-core machine.

Run: .venv/bin/python -m tests.benchmarks.bench_decontam
(FLAMES_BENCH_DECONTAM_SIZE=1000000 for the full size; default 200000.)
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from pipeline.benchmarks.loading import BenchItem, load_benchmarks
from pipeline.decontam.contamination import decontaminate_file
from pipeline.decontam.index import NgramIndex
from pipeline.dedup.text import normalize
from tests.benchmarks.bench_dedup import DATA, perturb

SIZE = int(os.environ.get("FLAMES_BENCH_DECONTAM_SIZE", "200000"))
BASELINE_SIZE = 20_000
N = 8
CONTAINMENT = 0.95
BENCHMARKS = ["gsm8k", "math500", "college_math"]
_NUMBER = re.compile(r"\d+")
_PREFIXES = ["Solve the following.", "Here is a problem:", "Question:", "Think step by step."]


def build_set(items: list[BenchItem], size: int) -> tuple[list[str], list[str]]:
    """Problems and their kind: clean, planted (verbatim) or edited (one number changed)."""
    rng = random.Random(3)
    path = DATA / "gsm8k" / "train.jsonl"
    clean = [json.loads(line)["question"] for line in path.open(encoding="utf-8")]
    texts: list[str] = []
    kinds: list[str] = []
    for _ in range(size):
        roll = rng.random()
        if roll < 0.02:
            item = rng.choice(items).text
            texts.append(f"{rng.choice(_PREFIXES)} {item} Give the answer in a box.")
            kinds.append("planted")
        elif roll < 0.03:
            item = rng.choice(items).text
            numbers = list(_NUMBER.finditer(item))
            if numbers:
                m = rng.choice(numbers)
                item = f"{item[: m.start()]}{int(m.group()) + 1}{item[m.end() :]}"
            texts.append(item)
            kinds.append("edited")
        else:
            base = rng.choice(clean)
            texts.append(base if rng.random() < 0.5 else perturb(base, rng))
            kinds.append("clean")
    return texts, kinds


def naive_overlaps(items: list[BenchItem], texts: list[str]) -> list[float]:
    """Pure-Python reference: dict from n-gram tuple to items, counted per problem."""
    owners: dict[tuple[str, ...], list[int]] = {}
    sizes: list[int] = []
    short: dict[tuple[str, ...], int] = {}
    for k, item in enumerate(items):
        words = normalize(item.text).split()
        grams = {tuple(words[i : i + N]) for i in range(len(words) - N + 1)}
        sizes.append(len(grams))
        if 0 < len(words) < N:
            short.setdefault(tuple(words), k)
        for g in grams:
            owners.setdefault(g, []).append(k)
    short_lengths = sorted({len(s) for s in short})
    out: list[float] = []
    for text in texts:
        words = normalize(text).split()
        grams = {tuple(words[i : i + N]) for i in range(len(words) - N + 1)}
        hits: Counter[int] = Counter(k for g in grams for k in owners.get(g, ()))
        best = max((c / sizes[k] for k, c in hits.items()), default=0.0)
        for w in short_lengths:
            if any(tuple(words[i : i + w]) in short for i in range(len(words) - w + 1)):
                best = 1.0
        out.append(best)
    return out


def main() -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    items = load_benchmarks(BENCHMARKS, data_dir=DATA)
    started = time.perf_counter()
    index = NgramIndex(items, n=N)
    print(
        f"index: {len(items)} items ({index.short_items} shorter than {N} words, "
        f"{index.empty} empty), {len(index.keys)} distinct grams, "
        f"built in {time.perf_counter() - started:.2f} s"
    )
    texts, kinds = build_set(items, SIZE)

    sub = texts[:BASELINE_SIZE]
    began = time.perf_counter()
    reference = naive_overlaps(items, sub)
    naive_s = time.perf_counter() - began
    began = time.perf_counter()
    fast = index.match(sub).overlap
    fast_s = time.perf_counter() - began
    mismatches = int(np.sum(np.abs(np.asarray(reference) - fast) > 1e-5))
    print(
        f"baseline on {len(sub)}: pure Python {naive_s:.2f} s, numpy index {fast_s:.2f} s "
        f"({naive_s / fast_s:.1f}x); overlaps differing: {mismatches}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with open(src, "w", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": i, "question": text}) + "\n")
        began = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        summary = decontaminate_file(src, index, out, CONTAINMENT)
        seconds = time.perf_counter() - began
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
        flags = [json.loads(line)["contaminated"] for line in out.open(encoding="utf-8")]
    rate = SIZE / seconds
    print(
        f"decontaminate_file on {SIZE}: {seconds:.1f} s wall ({cpu:.0f} s cpu), "
        f"{rate:,.0f} problems/s -> 1M in {1e6 / rate / 60:.1f} min (goal < 5 min); "
        f"{summary.contaminated} flagged"
    )
    for kind in ("planted", "edited", "clean"):
        picked = [f for f, k in zip(flags, kinds, strict=True) if k == kind]
        print(
            f"  {kind:>8}: {len(picked):>8} problems, flagged {sum(picked):>7} "
            f"({sum(picked) / max(len(picked), 1):.4f})"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS {peak / 1e6:.2f} GB (was {peak_before / 1e6:.2f} GB at start)")


if __name__ == "__main__":
    main()
