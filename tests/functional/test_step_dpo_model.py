"""Per-step DPO pairs from 3 traces with the embedded SmolLM2-135M on CPU (K = 2, short rollouts).

A 135M model rarely solves anything, so what is checked is that every stage runs for real:
continuation requests render and generate, rollouts are graded, values and critical steps
are consistent with them, pairs are cut where the values say, and a rerun sends nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.datasets.rollouts import RolloutPlan
from pipeline.datasets.step_files import step_dpo_file
from pipeline.datasets.steps import SplitRule
from pipeline.llm.backend import load_backend
from pipeline.llm.spec import ModelSpec, SamplingParams
from storage.database import open_db
from storage.traces import trace_detail, trace_sets

pytestmark = pytest.mark.model

TRACES = [
    {
        "id": "add",
        "question": "What is 2 + 3?",
        "answer": "5",
        "response": "We add the numbers.\n2 + 3 = 5.\nSo the answer is 6.",
    },
    {
        "id": "eggs",
        "question": "Sam has 4 eggs and buys 4 more. How many eggs does he have?",
        "answer": "8",
        "response": "Sam starts with 4 eggs.\nHe buys 4 more, so 4 + 4 = 9.\nThe answer is 9.",
    },
    {
        "id": "double",
        "question": "What is twice 10?",
        "answer": "20",
        "response": "Twice 10 is 10 + 10.\nThat is 21.",
    },
]
PLAN = RolloutPlan(
    k=2,
    params=SamplingParams(temperature=0.7, top_p=0.9, top_k=50, max_new_tokens=16, seed=5),
    split=SplitRule(mode="lines"),
)


def test_step_pairs_from_three_traces_with_the_embedded_model(tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    traces.write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    out = tmp_path / "pairs.jsonl"
    db = open_db(tmp_path / "w.db")
    backend = load_backend(ModelSpec(max_batch_size=8))
    try:
        report = step_dpo_file(db, backend, traces, out, PLAN)
        assert report.failed == 0 and report.lines == 3
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["id"] for r in rows] == ["add", "eggs", "double"]
        (trace_set,) = trace_sets(db)
        for trace_id, row, given in zip((1, 2, 3), rows, TRACES, strict=True):
            assert row["steps"] == given["response"].splitlines()
            detail = trace_detail(db, trace_id)
            assert detail is not None and detail.trace.set_id == trace_set.id
            values = [detail.trace.q0, *(s.q for s in detail.steps)][: len(row["q"])]
            assert values == row["q"]
            # each stored value is the best of its K graded rollouts
            for prefix, q in enumerate(row["q"]):
                labels = [r.label for r in detail.rollouts if r.prefix == prefix]
                assert len(labels) == 2 and q == int(1 in labels)
                assert all(r.text is not None for r in detail.rollouts if r.prefix == prefix)
            c = row["critical_step"]
            if c is None:
                assert row["chosen"] is None or 0 not in row["q"][1:]
                continue
            assert row["q"][c] == 0 and all(row["q"][:c])
            assert row["rejected"] == "\n".join(row["steps"][:c])
            assert row["chosen"].startswith("\n".join(row["steps"][: c - 1]))
        first = out.read_text()
        sent: list[int] = []
        generate = backend.generate
        backend.generate = lambda batch: (sent.append(len(batch)), generate(batch))[1]  # type: ignore[method-assign]
        step_dpo_file(db, backend, traces, out, PLAN)
        assert sent == [] and out.read_text() == first  # all from the cache
        pending = db.execute("SELECT COUNT(*) FROM requests WHERE status != 'done'").fetchone()
        assert pending[0] == 0
    finally:
        backend.close()
