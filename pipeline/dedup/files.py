"""`flames dedup FILE.jsonl`: near-duplicate pairs and clusters of the problems in a file."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.dedup.duplicates import DedupResult, find_duplicates
from pipeline.dedup.records import Record, read_records
from pipeline.dedup.search import SearchOptions
from pipeline.errors import InputError
from pipeline.progress import Reporter, ignore


@dataclass(frozen=True)
class DedupSummary:
    """What a dedup run found, for the CLI to print and the TUI to show."""

    items: int
    empty: int
    exact_dups: int
    pairs: int
    clusters: int
    clustered_items: int  # items in clusters of two or more
    seconds: float


def summarize(result: DedupResult, pairs: int, started: float) -> DedupSummary:
    """Counts of a result; `pairs` is the number of item pairs >= the threshold."""
    counts = np.bincount(result.representative, minlength=result.n_items)
    return DedupSummary(
        items=result.n_items,
        empty=result.n_empty,
        exact_dups=int(result.is_exact_dup.sum()),
        pairs=pairs,
        clusters=result.n_clusters,
        clustered_items=int(counts[counts > 1].sum()),
        seconds=time.perf_counter() - started,
    )


def format_score(score: float) -> str:
    """A score as short JSON (6 significant digits, never rounded up past a threshold)."""
    floored = math.floor(score * 1e6) / 1e6
    return f"{floored:.6g}"


def _preferences(records: list[Record], prefer_field: str, path: str) -> list[float]:
    values: list[float] = []
    for rec in records:
        value: Any = rec.data.get(prefer_field)
        if value is None:
            values.append(float("-inf"))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(
                "expected a number (the preference for representatives)",
                path=path,
                line=rec.line,
                field=prefer_field,
            )
        else:
            values.append(float(value))
    return values


def write_pairs(result: DedupResult, ids: list[str], out: Path) -> int:
    """Write item pairs >= the threshold as JSONL ({"a", "b", "score"}); returns how many."""
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        for a, b, s in result.item_pairs():
            handle.writelines(
                f'{{"a": {ids[i]}, "b": {ids[j]}, "score": {format_score(v)}}}\n'
                for i, j, v in zip(a.tolist(), b.tolist(), s.tolist(), strict=True)
            )
            written += len(a)
    return written


def count_pairs(result: DedupResult) -> int:
    """Number of item pairs >= the threshold, without writing them."""
    return sum(len(a) for a, _, _ in result.item_pairs())


def write_clusters(result: DedupResult, ids: list[str], out: Path) -> None:
    """One line per item: cluster (its representative's id), exact-dup flag, nearest neighbour."""
    rep, nn, sim = result.representative.tolist(), result.nn.tolist(), result.nn_sim.tolist()
    exact = result.is_exact_dup.tolist()
    with open(out, "w", encoding="utf-8") as handle:
        for i, ident in enumerate(ids):
            neighbour = ids[nn[i]] if nn[i] >= 0 else "null"
            score = format_score(sim[i]) if nn[i] >= 0 else "null"
            handle.write(
                f'{{"id": {ident}, "cluster": {ids[rep[i]]}, '
                f'"representative": {"true" if rep[i] == i else "false"}, '
                f'"exact_dup": {"true" if exact[i] else "false"}, '
                f'"nn": {neighbour}, "nn_score": {score}}}\n'
            )


def dedup_file(
    path: str | Path,
    threshold: float,
    *,
    text_field: str | None = None,
    pairs_out: str | Path | None = None,
    clusters_out: str | Path | None = None,
    prefer_field: str | None = None,
    options: SearchOptions | None = None,
    progress: Reporter = ignore,
) -> DedupSummary:
    """Find exact and near-duplicate problems in a JSONL file and write what was asked."""
    started = time.perf_counter()
    records = read_records(path, text_field, keep_data=prefer_field is not None)
    preference = _preferences(records, prefer_field, str(path)) if prefer_field else None
    ids = [json.dumps(r.id, ensure_ascii=False) for r in records]
    result = find_duplicates(
        [r.text for r in records],
        threshold,
        preference=preference,
        options=options,
        progress=progress,
    )
    del records
    if pairs_out is not None:
        pairs = write_pairs(result, ids, Path(pairs_out))
    else:
        pairs = count_pairs(result)
    if clusters_out is not None:
        write_clusters(result, ids, Path(clusters_out))
    return summarize(result, pairs, started)
