"""`flames decontaminate`: flag problems that hold most of a benchmark item's n-grams.

File mode streams the input in chunks and writes each line back with
`contaminated`, `overlap` and `match`. Experiment mode stores
`scores.decontam_overlap` / `decontam_match` for every ok problem, so the
containment threshold is a query later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.benchmarks.loading import BenchItem
from pipeline.decontam.index import Matches, NgramIndex
from pipeline.dedup.records import Record, iter_records
from pipeline.errors import ConfigError, InputError
from pipeline.progress import ProgressEvent, Reporter, ignore
from storage.database import transaction

CHUNK = 20_000


@dataclass(frozen=True)
class DecontamSummary:
    """Counts of a decontamination run, per benchmark and in total."""

    problems: int
    contaminated: int
    by_benchmark: dict[str, int]
    benchmark_items: int
    short_items: int  # matched by exact containment (fewer than n words)
    seconds: float


def check_params(ngram: int, containment: float) -> None:
    """Reject n-gram sizes and thresholds that make no sense, with the option's name."""
    if ngram < 1:
        raise ConfigError(f"--ngram must be at least 1, got {ngram}")
    if not 0.0 < containment <= 1.0:
        raise ConfigError(f"--containment must be in (0, 1], got {containment}")


def match_record(index: NgramIndex, matches: Matches, k: int) -> dict[str, Any] | None:
    """The benchmark item behind problem k's overlap, as JSON-ready data (None: no overlap)."""
    item = int(matches.item[k])
    if item < 0:
        return None
    bench: BenchItem = index.items[item]
    return {"benchmark": bench.benchmark, "item": bench.item, "text": bench.text}


class _Tally:
    def __init__(self) -> None:
        self.problems = 0
        self.contaminated = 0
        self.by_benchmark: dict[str, int] = {}

    def add(self, flagged: bool, match: dict[str, Any] | None) -> None:
        self.problems += 1
        if flagged and match is not None:
            self.contaminated += 1
            name = str(match["benchmark"])
            self.by_benchmark[name] = self.by_benchmark.get(name, 0) + 1

    def summary(self, index: NgramIndex, started: float) -> DecontamSummary:
        return DecontamSummary(
            problems=self.problems,
            contaminated=self.contaminated,
            by_benchmark=dict(sorted(self.by_benchmark.items())),
            benchmark_items=len(index.items),
            short_items=index.short_items,
            seconds=time.perf_counter() - started,
        )


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def decontaminate_file(
    path: str | Path,
    index: NgramIndex,
    out: str | Path,
    containment: float = 0.95,
    text_field: str | None = None,
    progress: Reporter = ignore,
) -> DecontamSummary:
    """Write every input line to `out` with `contaminated`, `overlap` and `match` added."""
    check_params(index.n, containment)
    started = time.perf_counter()
    if Path(out).resolve() == Path(path).resolve():
        raise InputError("--out must differ from the input file", path=str(out))
    tally = _Tally()
    with open(out, "w", encoding="utf-8") as handle:
        records = iter_records(path, text_field, keep_data=True)
        for chunk in _chunks(records, CHUNK):
            matches = index.match([r.text for r in chunk])
            for k, rec in enumerate(chunk):
                overlap = float(matches.overlap[k])
                match = match_record(index, matches, k)
                flagged = overlap >= containment - 1e-9 and match is not None
                tally.add(flagged, match)
                row = {
                    **rec.data,
                    "contaminated": flagged,
                    "overlap": round(overlap, 6),
                    "match": match,
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            progress(ProgressEvent("decontaminate", tally.problems, None))
    return tally.summary(index, started)


def decontaminate_experiment(
    db: Database,
    name: str,
    index: NgramIndex,
    containment: float = 0.95,
    benchmarks: list[str] | None = None,
    progress: Reporter = ignore,
) -> DecontamSummary:
    """Store overlap and match for each ok problem of an experiment (upserting scores rows)."""
    from pipeline.experiments.lookup import resolve_experiment

    check_params(index.n, containment)
    started = time.perf_counter()
    exp_id = resolve_experiment(db, name)
    total = int(
        db.execute(
            "SELECT COUNT(*) FROM problems WHERE experiment_id = ? AND status = 'ok'", [exp_id]
        ).fetchone()[0]
    )
    tally = _Tally()
    upsert = (
        "INSERT INTO scores (problem_id, decontam_overlap, decontam_match) VALUES (?, ?, ?) "
        "ON CONFLICT(problem_id) DO UPDATE SET decontam_overlap = excluded.decontam_overlap,"
        " decontam_match = excluded.decontam_match, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')"
    )
    after = 0
    while True:
        rows = db.execute(
            "SELECT id, text FROM problems WHERE experiment_id = ? AND "
            "status = 'ok' AND id > ? ORDER BY id LIMIT ?",
            [exp_id, after, CHUNK],
        ).fetchall()
        if not rows:
            break
        after = int(rows[-1][0])
        matches = index.match([r[1] or "" for r in rows])
        values = []
        for k, row in enumerate(rows):
            match = match_record(index, matches, k)
            overlap = float(matches.overlap[k])
            tally.add(overlap >= containment - 1e-9, match)
            values.append(
                (
                    int(row[0]),
                    round(overlap, 6),
                    json.dumps(match, ensure_ascii=False) if match else None,
                )
            )
        # One transaction per chunk: an interrupted run keeps what it finished.
        with transaction(db):
            db.conn.executemany(upsert, values)
        progress(ProgressEvent("decontaminate", tally.problems, total))
    params = {
        "ngram": index.n,
        "containment": containment,
        "benchmarks": benchmarks or [],
        "benchmark_items": len(index.items),
        "problems": tally.problems,
        "contaminated": tally.contaminated,
    }
    with transaction(db):
        db.conn.execute(
            "INSERT INTO signal_runs (experiment_id, kind, params_json) "
            "VALUES (?, 'decontaminate', ?) ON CONFLICT(experiment_id, kind) DO "
            "UPDATE SET params_json = excluded.params_json, "
            "created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            [exp_id, json.dumps(params)],
        )
    return tally.summary(index, started)
