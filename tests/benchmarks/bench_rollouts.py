"""Per-step DPO rollouts/s against the bare engine, on a loopback OpenAI-compatible server.

Baseline, same process and server: `Engine.run` sending the very requests the rollouts sent
(recorded, replayed with another seed so nothing is cached), in one call and in the same
calls as the rounds. Then
`estimate_values` on incorrect traces whose scripted rollouts fail from a planted step:
rounds of prefixes, grading every rollout, storing rollouts and values. Each is measured
TRIES times, interleaved, on fresh workspaces and seeds (a shared machine is noisy); the
best of each is compared. Goal: >= 0.8x the faster baseline.
FLAMES_BENCH_ROLLOUT_TRACES sets the size (default 200 traces, K = 5, 4,500 rollouts).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.answers.verification import Verifier
from pipeline.datasets.rewards import Reference
from pipeline.datasets.rollouts import NegativeTrace, RolloutPlan, estimate_values
from pipeline.datasets.steps import SplitRule
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from storage.database import open_db
from storage.traces import NewTrace, ensure_trace_set, insert_traces, set_traces
from tests.unit.llm_doubles import LoopbackServer
from tests.unit.planted_pits import problem, respond, trace

TRACES = int(os.environ.get("FLAMES_BENCH_ROLLOUT_TRACES", "200"))
STEPS = 6
K = 5
TRIES = 3
GOAL = 0.8


def negatives(db_path: Path) -> list[NegativeTrace]:
    """Traces with pits at steps 1..6 in turn, stored so values and rollouts are written."""
    db = open_db(db_path)
    items = [
        NegativeTrace(f"t{n}", problem(n, 1 + n % STEPS), trace(STEPS), Reference("42", "file"))
        for n in range(TRACES)
    ]
    stored = ensure_trace_set(db, "b", experiment_id=None, arm=None, model=None, params_json="{}")
    insert_traces(db, stored.id, [NewTrace(t.key, 0, t.text, question=t.question) for t in items])
    ids = {row.item: row.id for row in set_traces(db, stored.id)}
    return [replace(t, trace_id=ids[t.key]) for t in items]


class Recorder:
    """The backend, recording each batch the engine hands it (to replay as the baseline)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.model_id = backend.model_id
        self.batch_size = getattr(backend, "batch_size", 64)
        self.batches: list[list[Request]] = []

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Any]]:
        self.batches.append(list(requests))
        return self.backend.generate(requests)

    def close(self) -> None:
        pass


def rollouts(backend: Backend, folder: Path, seed: int) -> tuple[float, list[list[Request]]]:
    """(rollouts/s, the batches sent) of one valuing run."""
    plan = RolloutPlan(
        k=K, params=SamplingParams(max_new_tokens=64, seed=seed), split=SplitRule(mode="lines")
    )
    traces = negatives(folder / "ours.db")
    recorder = Recorder(backend)
    with Verifier(workers=1) as verifier:
        started = time.perf_counter()
        report = estimate_values(
            open_db(folder / "ours.db"), recorder, traces, plan, verifier=verifier
        )
        rate = report.requests / (time.perf_counter() - started)
    assert report.failed == 0
    assert all(v.critical_step == 1 + n % STEPS for n, v in enumerate(report.traces))
    return rate, recorder.batches


def bare(backend: Backend, db_path: Path, seed: int, batches: list[list[Request]]) -> float:
    """Requests/s of the bare engine sending the same requests (another seed) in these calls."""
    engine = Engine(open_db(db_path), backend)
    started, sent = time.perf_counter(), 0
    for batch in batches:
        sent += len(engine.run([replace(r, params=replace(r.params, seed=seed)) for r in batch]))
    return sent / (time.perf_counter() - started)


def main() -> None:
    best = {"ours": 0.0, "one call": 0.0, "in rounds": 0.0}
    with LoopbackServer(responder=respond) as server, tempfile.TemporaryDirectory() as tmp:
        backend = load_backend(
            ModelSpec(backend="openai", base_urls=(server.base_url,), concurrency=64)
        )
        for attempt in range(TRIES):
            folder = Path(tmp) / str(attempt)
            folder.mkdir()
            rate, batches = rollouts(backend, folder, seed=10 + attempt)
            best["ours"] = max(best["ours"], rate)
            whole = [[r for batch in batches for r in batch]]
            one = bare(backend, folder / "one.db", seed=100 + attempt, batches=whole)
            best["one call"] = max(best["one call"], one)
            split = bare(backend, folder / "rounds.db", seed=200 + attempt, batches=batches)
            best["in rounds"] = max(best["in rounds"], split)
        backend.close()
    baseline = max(best["one call"], best["in rounds"])
    ratio = best["ours"] / baseline
    total = sum(len(batch) for batch in batches)
    sizes = [len(batch) for batch in batches]
    print(f"bare engine, one call:  {best['one call']:,.0f} requests/s ({total} requests)")
    print(f"bare engine, in rounds: {best['in rounds']:,.0f} requests/s (calls of {sizes})")
    print(
        f"per-step rollouts:      {best['ours']:,.0f} rollouts/s ({total} rollouts of {TRACES} "
        f"traces; {ratio:.2f}x the faster baseline, best of {TRIES}; goal >= {GOAL}x: "
        f"{'met' if ratio >= GOAL else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
