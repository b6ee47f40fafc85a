"""What an evaluation reports: accuracy with its interval per benchmark and per breakdown.

Built from the stored rows (`eval_runs`, `eval_items`), so a report of a resumed eval counts
the items of every session, and `REPORT.json` / `ITEMS.jsonl` are views of the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from pipeline.evaluation.stats import wilson
from storage import evaluation as rows

# eval_items column -> REPORT.json key of its breakdown (the subset key is per benchmark).
BREAKDOWNS = {"subject": "by_subject", "level": "by_level"}


@dataclass(frozen=True)
class Score:
    """Accuracy of n items with its Wilson 95% interval."""

    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson(self.correct, self.n)

    def as_json(self) -> dict[str, Any]:
        low, high = self.ci95
        return {
            "n": self.n,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 6),
            "ci95": [round(low, 6), round(high, 6)],
        }


@dataclass(frozen=True)
class BenchmarkScore:
    """One benchmark's result: its run, score, failures and breakdowns."""

    benchmark: str
    run_id: int
    source: str
    score: Score
    failed: int
    status: str
    breakdowns: dict[str, dict[str, Score]] = field(default_factory=dict)
    prompt_version: str = ""

    def as_json(self) -> dict[str, Any]:
        data = self.score.as_json()
        data.update(
            {
                "failed": self.failed,
                "source": self.source,
                "prompt_version": self.prompt_version,
                "run_id": self.run_id,
            }
        )
        for key, groups in self.breakdowns.items():
            data[key] = {name: score.as_json() for name, score in groups.items()}
        return data


@dataclass
class EvalReport:
    """An evaluation of one model on several benchmarks.

    `sent` counts requests sent to the model in this call (0 when everything came from the
    cache); `failed` the items whose request failed (counted as wrong, retried next time).
    """

    model: str
    backend: str
    model_id: str
    prompt: dict[str, Any]
    sampling: dict[str, Any]
    benchmarks: dict[str, BenchmarkScore] = field(default_factory=dict)
    sent: int = 0
    cached: int = 0
    reused: int = 0  # items an earlier run had graded already (nothing asked for them)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.benchmarks.values())

    def as_json(self) -> dict[str, Any]:
        """The REPORT.json shape: {"model": ..., "benchmarks": {name: {n, correct, ...}}}."""
        return {
            "model": self.model,
            "backend": self.backend,
            "prompt": self.prompt,
            "sampling": self.sampling,
            "benchmarks": {name: b.as_json() for name, b in self.benchmarks.items()},
        }


def benchmark_score(db: Database, run_id: int, subset_label: str = "subset") -> BenchmarkScore:
    """The score of one stored run, with its subject/level/subset breakdowns where present."""
    run = rows.run_row(db, run_id)
    if run is None:
        raise ValueError(f"no eval run {run_id}")
    breakdowns: dict[str, dict[str, Score]] = {}
    for column, key in (*BREAKDOWNS.items(), ("subset", f"by_{subset_label}")):
        groups = rows.breakdown_rows(db, run_id, column)
        if groups:
            breakdowns[key] = {name: Score(n, correct) for name, n, correct in groups}
    return BenchmarkScore(
        benchmark=str(run["benchmark"]),
        run_id=run_id,
        source=str(run["benchmark_source"]),
        score=Score(int(run["n_items"]), int(run["n_correct"])),
        failed=int(run["n_failed"]) + max(0, int(run["n_items"]) - int(run["n_graded"])),
        status=str(run["status"]),
        breakdowns=breakdowns,
        prompt_version=str(run["prompt_version"]),
    )


def item_records(db: Database, report: EvalReport) -> Iterator[dict[str, Any]]:
    """The ITEMS.jsonl lines of a report: one per item, in benchmark then item order."""
    for name, bench in report.benchmarks.items():
        for item in rows.item_rows(db, bench.run_id):
            yield {
                "benchmark": name,
                "index": item["item_index"],
                "id": item["item_id"],
                "question": item["question"],
                "gold": item["gold"],
                "output": item["output"],
                "extracted": item["extracted"],
                "extract_rule": item["extract_rule"],
                "verdict": item["verdict"],
                "reason": item["reason"],
                "correct": bool(item["correct"]),
                "finish_reason": item["finish_reason"],
                "subject": item["subject"],
                "level": item["level"],
                "subset": item["subset"],
            }
