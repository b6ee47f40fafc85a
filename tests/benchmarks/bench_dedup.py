"""Near-duplicate detection: recall against exhaustive cdist, time and peak memory at scale.

Sets are built from the ../shared/data questions plus perturbed variants (number
changes, word swaps and replacements, sentence reordering), so true
near-duplicate families exist.

- recall/precision of the blocked method against exhaustive `process.cdist` on
  20k problems at T in {0.8, 0.9, 0.95} (goal: recall >= 0.99 at 0.9);
- end-to-end `dedup_file` time and peak memory (each size in a fresh process) at
  100k by default, and 1M with FLAMES_BENCH_DEDUP_SIZES=100000,1000000 (goals:
  100k < 60 s, 1M < 15 min, < 8 GB), with the speed-up over exhaustive scoring
  extrapolated from its measured pair rate.

Run: .venv/bin/python -m tests.benchmarks.bench_dedup
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.dedup.files import dedup_file
from pipeline.dedup.scoring import exhaustive_pairs
from pipeline.dedup.search import search_pairs
from pipeline.dedup.text import normalize

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FLAMES_BENCH_DATA", ROOT / ".." / "shared" / "data")).resolve()
RECALL_SIZE = int(os.environ.get("FLAMES_BENCH_DEDUP_RECALL", "20000"))
SIZES = [int(s) for s in os.environ.get("FLAMES_BENCH_DEDUP_SIZES", "100000").split(",") if s]
THRESHOLDS = (0.8, 0.9, 0.95)
_NUMBER = re.compile(r"\d+")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")
_FILLERS = ["some", "many", "each", "the", "a", "her", "his", "two", "total", "exactly"]


def base_questions() -> list[str]:
    """Distinct problem texts of every ../shared/data file, in any of their layouts."""
    seen: set[str] = set()
    texts: list[str] = []
    for path in sorted(glob.glob(str(DATA / "*" / "*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if isinstance(row.get("Body"), str):
                    text = f"{row['Body']} {row['Question']}"
                elif isinstance(row.get("body"), str):
                    text = f"{row['body']} {row['question']}"
                else:
                    text = next(
                        (
                            row[k]
                            for k in ("question", "problem", "input")
                            if isinstance(row.get(k), str)
                        ),
                        "",
                    )
                key = normalize(text)
                if key and key not in seen:
                    seen.add(key)
                    texts.append(text)
    if not texts:
        raise SystemExit(f"no questions under {DATA}: set FLAMES_BENCH_DATA")
    return texts


def perturb(text: str, rng: random.Random) -> str:
    """One to three edits: change a number, swap or replace a word, or swap two sentences."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        numbers = list(_NUMBER.finditer(text))
        if kind < 0.4 and numbers:
            m = rng.choice(numbers)
            text = f"{text[: m.start()]}{rng.randint(1, 999)}{text[m.end() :]}"
            continue
        words = text.split(" ")
        if kind < 0.8 and len(words) > 3:
            k = rng.randrange(len(words) - 1)
            if rng.random() < 0.5:
                words[k], words[k + 1] = words[k + 1], words[k]
            else:
                words[k] = rng.choice(_FILLERS)
            text = " ".join(words)
            continue
        sentences = _SENTENCE.split(text)
        if len(sentences) > 2:
            k = rng.randrange(len(sentences) - 2)
            sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
            text = " ".join(sentences)
    return text


def build_set(size: int, seed: int = 0) -> list[str]:
    """`size` problems: distinct bases, then variants of bases or of earlier variants."""
    rng = random.Random(seed)
    bases = base_questions()
    rng.shuffle(bases)
    n_bases = min(len(bases), max(size // 2, 1))
    items = bases[:n_bases]
    while len(items) < size:
        pool = len(items) if rng.random() < 0.3 else n_bases
        items.append(perturb(items[rng.randrange(pool)], rng))
    rng.shuffle(items)
    return items


def recall_table(size: int) -> float:
    """Recall/precision of blocking vs exhaustive at each threshold; returns exhaustive pairs/s."""
    texts = list(dict.fromkeys(normalize(t) for t in build_set(size)))
    n = len(texts)
    started = time.perf_counter()
    left, right, score = exhaustive_pairs(texts, min(THRESHOLDS))
    exhaustive_s = time.perf_counter() - started
    rate = n * (n - 1) / 2 / exhaustive_s
    print(
        f"recall set: {n} distinct texts; exhaustive cdist {exhaustive_s:.1f} s "
        f"({rate / 1e6:.2f} M pairs/s)"
    )
    truth_codes = left * n + right
    print(
        f"{'T':>5} {'true':>8} {'found':>8} {'recall':>7} {'precision':>9} {'time':>7} "
        f"{'speed-up':>8}"
    )
    for t in THRESHOLDS:
        began = time.perf_counter()
        found = search_pairs(texts, t)
        blocked_s = time.perf_counter() - began
        got = found.left * n + found.right
        truth = truth_codes[score >= t - 1e-6]
        recall = float(np.isin(truth, got).mean()) if len(truth) else 1.0
        precision = float(np.isin(got, truth).mean()) if len(got) else 1.0
        print(
            f"{t:>5.2f} {len(truth):>8} {len(got):>8} {recall:>7.4f} {precision:>9.4f} "
            f"{blocked_s:>6.1f}s {exhaustive_s / blocked_s:>7.1f}x"
        )
    return rate


def write_set(path: Path, size: int) -> None:
    """A JSONL file of `size` perturbed problems ({"id", "question"})."""
    with open(path, "w", encoding="utf-8") as handle:
        for i, text in enumerate(build_set(size, seed=1)):
            handle.write(json.dumps({"id": i, "question": text}) + "\n")


def run_one(src: Path) -> dict[str, float]:
    """Time `dedup_file` end to end (read, search, clusters, write pairs); its own process."""
    pairs = src.with_suffix(".pairs.jsonl")
    started = time.perf_counter()
    summary = dedup_file(src, 0.9, pairs_out=pairs)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "peak_gb": peak / 1e6,
        "pairs": summary.pairs,
        "clusters": summary.clusters,
    }


def main() -> None:
    print(f"data: {DATA}; cores: {os.cpu_count()}")
    rate = recall_table(RECALL_SIZE)
    print(
        f"\n{'size':>9} {'time':>8} {'peak RSS':>9} {'pairs':>10} {'clusters':>9} "
        f"{'exhaustive (extrap.)':>21} {'speed-up':>9}"
    )
    for size in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "set.jsonl"
            write_set(src, size)
            run = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.bench_dedup", "--one", str(src)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
        r = json.loads(run.stdout.strip().splitlines()[-1])
        exhaustive = size * (size - 1) / 2 / rate
        print(
            f"{size:>9} {r['seconds']:>7.1f}s {r['peak_gb']:>7.2f}GB {r['pairs']:>10} "
            f"{r['clusters']:>9} {exhaustive / 3600:>19.1f} h {exhaustive / r['seconds']:>8.0f}x"
            f"  (cpu {r['cpu_s']:.0f} s)"
        )
    print("goals: recall >= 0.99 at T=0.9; 100k < 60 s; 1M < 15 min and < 8 GB")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(Path(sys.argv[2]))))
    else:
        main()
