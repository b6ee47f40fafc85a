"""`evaluate`: a model on named benchmarks, zero-shot, through the resumable engine.

Every input is checked before anything is written (benchmark names and files, the prompt,
the model), so a bad input leaves no eval run behind. Then, per benchmark, the run row is
found or started (`eval_runs.run_key`), the items it has not graded yet are sent through
the engine (finished requests come from the request cache, so a killed eval resumes and
a finished one sends nothing), and each chunk is graded by the project's grader
(`pipeline.answers`) and stored with its verdict in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from pipeline.answers import Verdict
from pipeline.benchmarks import BenchItem, LoadedBenchmark, Prompt, check_spec, open_benchmark
from pipeline.benchmarks.registry import DEFAULT_TEMPLATE
from pipeline.config.schema import EvalConfig
from pipeline.errors import ConfigError
from pipeline.evaluation.grading import ChunkGrader, Graded
from pipeline.evaluation.report import EvalReport, benchmark_score
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request, Result, params_json
from pipeline.llm.spec import ModelSpec, SamplingParams
from pipeline.progress import ProgressEvent, Reporter, ignore, within
from storage import evaluation as rows
from storage.database import transaction

Role = Literal["arm", "base", "model"]
# Items graded and stored per transaction: a kill loses at most two chunks' grading (never
# their model calls, which the engine has stored), and the eval's items appear as it goes.
CHUNK = 512
# More items than this to generate: grade on a thread, overlapped with generation.
BACKGROUND_AFTER = CHUNK
# Greedy, 2,048 new tokens: the FLAMES evaluation setting (SPEC section 1).
EVAL_SAMPLING = SamplingParams(temperature=0.0, top_p=1.0, top_k=0, max_new_tokens=2048)


@dataclass(frozen=True)
class Attachment:
    """Where an eval belongs: an experiment's arm, its base student, or nothing (a bare model)."""

    experiment_id: int | None = None
    arm_id: int | None = None
    role: Role = "model"
    training_run_id: int | None = None
    checkpoint: str | None = None
    checkpoint_step: int | None = None

    def check(self) -> None:
        if self.role == "arm" and (self.arm_id is None or self.experiment_id is None):
            raise ConfigError("an arm's eval needs its experiment and arm")
        if self.role == "base" and self.experiment_id is None:
            raise ConfigError("a base-student eval needs its experiment")
        if self.role == "model" and (self.arm_id is not None or self.experiment_id is not None):
            raise ConfigError("an eval attached to an experiment has role 'arm' or 'base'")


def evaluate(
    db: Database,
    model: ModelSpec,
    benchmarks: Sequence[str],
    *,
    sampling: SamplingParams = EVAL_SAMPLING,
    prompt: Prompt | None = None,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    attach: Attachment | None = None,
    backend: Backend | None = None,
    max_attempts: int = 3,
    retry_failed: bool = True,
    progress: Reporter = ignore,
) -> EvalReport:
    """Evaluate `model` on `benchmarks` (registry names, `NAME=SOURCE`, paths or `hf:` ids).

    Args:
        prompt: overrides every benchmark's own prompt (None: each benchmark's).
        limit: the first `limit` items of each benchmark (None: all).
        attach: the experiment/arm/training run/checkpoint this eval belongs to.
        backend: an already loaded backend for `model` (kept open); else one is loaded
            from `model` and closed at the end.
        max_attempts, retry_failed: the engine's retry policy (see `Engine`).
    """
    attach = attach or Attachment()
    attach.check()
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    if prompt is not None and "{question}" not in prompt.user:
        raise ConfigError("the eval prompt must contain {question} (where the problem goes)")
    names = [b.strip() for b in benchmarks if b.strip()]
    if not names:
        raise ConfigError("no benchmarks to evaluate: give --bench NAME[,NAME...]")
    _check_unique([check_spec(name, data_dir) for name in names])
    progress(ProgressEvent("eval", 0, None, "reading benchmarks"))
    loaded = [open_benchmark(name, data_dir, need_gold=True) for name in names]
    progress(ProgressEvent("eval", 0, None, f"loading {model.model}"))
    owned = backend is None
    backend = backend or load_backend(model)
    report = EvalReport(
        model=model.model,
        backend=model.backend,
        model_id=backend.model_id,
        prompt=_prompt_record(prompt, loaded),
        sampling=json.loads(params_json(sampling)),
    )
    total = sum(min(len(b.items), limit or len(b.items)) for b in loaded)
    try:
        before = 0
        for bench in loaded:
            items = bench.items[:limit] if limit else bench.items
            asked = prompt or bench.definition.prompt
            run_id = _start(db, bench, items, asked, sampling, model, backend, attach, limit)
            stage = f"eval {bench.name}"
            reporter = within(progress, "eval", before=before, total=total)
            engine = Engine(
                db, backend, max_attempts=max_attempts, retry_failed=retry_failed, stage=stage
            )
            sent, cached, before_run = _run_items(
                db, run_id, items, asked, sampling, engine, reporter
            )
            report.sent += sent
            report.cached += cached
            report.reused += before_run
            report.benchmarks[bench.name] = benchmark_score(
                db, run_id, bench.definition.layout.subset_label
            )
            before += len(items)
    finally:
        if owned:
            backend.close()
    report.seconds = sum(_seconds(db, b.run_id) for b in report.benchmarks.values())
    progress(ProgressEvent("eval", total, total, f"{report.failed} failed", report.failed))
    return report


def config_prompt(evaluation: EvalConfig) -> Prompt | None:
    """The prompt an `[evaluation]` section asks for; None: each benchmark's own.

    `prompt` replaces the user turn (it holds {question}); `system` adds a system turn. To
    ask as Qwen2.5-Math does, set prompt = "{question}" and system = the CoT instruction.
    """
    if evaluation.prompt is None and evaluation.system is None:
        return None
    return Prompt(user=evaluation.prompt or DEFAULT_TEMPLATE, system=evaluation.system)


def _prompt_record(prompt: Prompt | None, loaded: list[LoadedBenchmark]) -> dict[str, Any]:
    """The prompt a report records: the one given, the benchmarks' common one, or each one."""
    asked = {b.name: asdict(prompt or b.definition.prompt) for b in loaded}
    distinct = {json.dumps(p, sort_keys=True) for p in asked.values()}
    return next(iter(asked.values())) if len(distinct) == 1 else {"per_benchmark": asked}


def _check_unique(names: list[str]) -> None:
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"benchmark '{name}' is named twice")


def prompt_version(prompt: Prompt) -> str:
    """A short stable id of a prompt's text (what `eval_runs.prompt_version` records)."""
    text = json.dumps(asdict(prompt), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _start(
    db: Database,
    bench: LoadedBenchmark,
    items: list[BenchItem],
    prompt: Prompt,
    sampling: SamplingParams,
    model: ModelSpec,
    backend: Backend,
    attach: Attachment,
    limit: int | None,
) -> int:
    """Find or start the eval run of this model x benchmark x prompt x sampling x attachment."""
    params = params_json(sampling)
    identity = {
        "model_id": backend.model_id,
        "backend": model.backend,
        "benchmark": bench.name,
        "items": bench.digest,
        "limit": limit,
        "prompt": prompt_version(prompt),
        "params": params,
        **asdict(attach),
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
    run = rows.NewRun(
        run_key=key,
        experiment_id=attach.experiment_id,
        arm_id=attach.arm_id,
        role=attach.role,
        model=model.model,
        backend=model.backend,
        model_id=backend.model_id,
        training_run_id=attach.training_run_id,
        checkpoint=attach.checkpoint,
        checkpoint_step=attach.checkpoint_step,
        benchmark=bench.name,
        benchmark_source=bench.source,
        items_digest=bench.digest,
        prompt_version=prompt_version(prompt),
        prompt_json=json.dumps(asdict(prompt)),
        params_json=params,
        item_limit=limit,
        n_items=len(items),
    )
    with transaction(db):
        return rows.start_run(db, run)


@dataclass
class _Chunk:
    """A generated chunk waiting for its grades."""

    items: list[BenchItem]
    results: list[Result]
    grades: Future[list[Graded]]
    answered: list[int]  # positions in `items` whose request returned text


def _run_items(
    db: Database,
    run_id: int,
    items: list[BenchItem],
    prompt: Prompt,
    sampling: SamplingParams,
    engine: Engine,
    progress: Reporter,
) -> tuple[int, int, int]:
    """Generate, grade and store the items of a run not graded yet.

    Chunk k is graded (in a worker process when there are several chunks) while the
    engine generates chunk k+1, then stored in one transaction with the run's counts.
    Returns (requests sent, requests answered from the cache, items graded before).
    """
    graded = rows.graded_indexes(db, run_id)
    todo = [item for item in items if item.index not in graded]
    done = already = len(items) - len(todo)
    stage = engine.stage
    progress(ProgressEvent(stage, done, len(items), f"{done} graded before"))
    sent = cached = 0
    grader = ChunkGrader(background=len(todo) > BACKGROUND_AFTER)
    pending: _Chunk | None = None
    clock = time.monotonic()
    try:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            engine.progress = within(progress, stage, before=done, total=len(items))
            requests = [Request(messages=prompt.render(i.text), params=sampling) for i in chunk]
            results = engine.run(requests)
            sent += sum(1 for r in results if not r.cached)
            cached += sum(1 for r in results if r.cached)
            answered = [k for k, r in enumerate(results) if r.status == "done" and r.text]
            grades = grader.submit(
                [chunk[k].gold or "" for k in answered], [results[k].text or "" for k in answered]
            )
            if pending is not None:
                clock = _store(db, run_id, pending, clock)
                done += len(pending.items)
                progress(ProgressEvent(stage, done, len(items)))
            pending = _Chunk(chunk, results, grades, answered)
        if pending is not None:
            clock = _store(db, run_id, pending, clock)
            done += len(pending.items)
            progress(ProgressEvent(stage, done, len(items)))
    finally:
        grader.close()
    with transaction(db):
        rows.finish_run(db, run_id)
    return sent, cached, already


def _store(db: Database, run_id: int, chunk: _Chunk, clock: float) -> float:
    """Wait for a chunk's grades and store its items; returns the time it was stored."""
    grades = dict(zip(chunk.answered, chunk.grades.result(), strict=True))
    item_rows = [
        _item_row(item, result, grades.get(k))
        for k, (item, result) in enumerate(zip(chunk.items, chunk.results, strict=True))
    ]
    now = time.monotonic()
    with transaction(db):
        rows.store_items(db, run_id, item_rows)
        rows.refresh_counts(db, run_id, seconds=now - clock)
    return now


def _item_row(item: BenchItem, result: Result, grade: Graded | None) -> rows.ItemRow:
    """The eval_items row of one item; no grade means its request failed (not correct)."""
    if grade is None:
        failed = result.error or ("empty reply" if result.status == "done" else "failed")
        label, reason, answer, rule, correct = "failed", failed, None, None, 0
        if result.status == "done":  # an empty reply is an answer, and a wrong one
            label, reason, rule = "incorrect", "no_answer", "none"
    else:
        verdict = Verdict(grade.equal, grade.reason)
        label, reason, answer, rule = verdict.label, grade.reason, grade.answer, grade.rule
        correct = 1 if grade.equal is True else 0
    return (
        item.index,
        str(item.item),
        item.subject,
        item.level,
        item.subset,
        item.text,
        item.gold,
        result.key,
        result.text,
        result.finish_reason,
        None,  # completion tokens: filled from the request cache when the run finishes
        answer,
        rule,
        label,
        reason,
        correct,
    )


def _seconds(db: Database, run_id: int) -> float:
    run = rows.run_row(db, run_id)
    return float(run["seconds"]) if run else 0.0
