"""`evaluate` on the embedded SmolLM2-135M model: 10 GSM8K items on CPU, stored and graded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.evaluation import EVAL_SAMPLING, evaluate, item_records
from pipeline.llm.backend import load_backend
from pipeline.llm.spec import ModelSpec

pytestmark = pytest.mark.model

# Greedy as in the paper, but 160 new tokens instead of 2,048: a 135M model on two cores.
SHORT = dataclasses.replace(EVAL_SAMPLING, max_new_tokens=160)


def test_embedded_model_on_ten_gsm8k_items(db: Database, shared_data: Path) -> None:
    spec = ModelSpec(max_batch_size=10)
    backend = load_backend(spec)
    try:
        report = evaluate(
            db, spec, ["gsm8k"], sampling=SHORT, data_dir=shared_data, limit=10, backend=backend
        )
        again = evaluate(
            db, spec, ["gsm8k"], sampling=SHORT, data_dir=shared_data, limit=10, backend=backend
        )
    finally:
        backend.close()
    score = report.benchmarks["gsm8k"]
    assert (score.score.n, score.failed, score.status) == (10, 0, "done")
    assert report.sent == 10 and again.sent == 0 and again.reused == 10
    assert again.benchmarks["gsm8k"].score == score.score
    items = list(item_records(db, report))
    assert len(items) == 10
    assert all(item["output"] and item["verdict"] in ("correct", "incorrect") for item in items)
    assert sum(item["correct"] for item in items) == score.score.correct
    assert all(item["reason"] for item in items)
    run = db.execute("SELECT prompt_tokens, completion_tokens FROM eval_runs").fetchone()
    assert run[0] > 0 and 0 < run[1] <= 10 * 160
