"""Student traces: M sampled solutions per training problem, stored with their binary reward.

RFT keeps the correct ones, plain DPO pairs correct against incorrect, per-step DPO rolls out
the incorrect ones (Setlur et al. 2024). One sampling serves all three: the traces of a
student on an experiment's problems form one trace set, keyed by (experiment, arm, model,
sampling params), and every sample is a cached engine request, so a rerun or a larger M
sends only what is missing.

The student is asked exactly as its SFT data shows it a problem: the problem text as the one
user turn (`pipeline.datasets.formats.sft_record`), so its samples come from the
distribution it was trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlite_utils import Database

from pipeline.answers.verification import Verifier
from pipeline.datasets.rewards import Reference, grade, problem_reference
from pipeline.llm.backend import Backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Messages, Request, params_json
from pipeline.llm.spec import SamplingParams
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.selection import experiment_selection, kept_ids
from storage.experiments import arm_rows
from storage.flow import arm_problem_ids
from storage.traces import (
    NewTrace,
    TraceGrade,
    TraceSet,
    ensure_trace_set,
    insert_traces,
    save_grades,
    set_traces,
    stored_samples,
)
from storage.training_problems import ProblemAnswers, problem_answers

CHUNK = 256  # problems per engine call: bounded memory, steady progress


def student_messages(question: str) -> Messages:
    """The student's prompt: the problem as the only user turn, as in its SFT records."""
    return (("user", question),)


@dataclass
class SampleReport:
    """What sampling did: counts for the CLI, the job row and the dataset card."""

    set_id: int
    problems: int = 0
    requested: int = 0  # traces asked for (problems x M)
    stored: int = 0  # new traces written by this run
    already: int = 0  # traces an earlier run had stored
    failed: int = 0  # requests that failed (retried on the next run)
    correct: int = 0
    incorrect: int = 0
    unverifiable: int = 0


def training_problems(
    db: Database, experiment_id: int, arm: str | None = None
) -> tuple[list[ProblemAnswers], str]:
    """The problems traces are sampled for, and a line saying where they came from.

    An arm's problems are those its select stage recorded (`arm_problems`, written by
    `flames run`); without that record, the problems kept under the experiment's (or the
    arm's) `[filter]` selection. Either way only problems a trace can be graded on (a
    reference answer or a teacher majority) are used.
    """
    ids = arm_problem_ids(db, experiment_id, arm) if arm is not None else []
    source = f"the problems selected for arm {arm}"
    if not ids:
        # An arm the run records (e.g. "default") need not be one the config declares.
        declared = arm if arm in {row["name"] for row in arm_rows(db, experiment_id)} else None
        ids = kept_ids(db, experiment_id, experiment_selection(db, experiment_id, declared))
        source = f"the problems kept under the {'arm' if declared else 'experiment'}'s [filter]"
    problems = [p for p in problem_answers(db, ids) if problem_reference(p).answer is not None]
    return problems, f"{len(problems)} of {source} with a reference or teacher majority"


def trace_set_key(experiment_id: int, arm: str | None, model: str, params: SamplingParams) -> str:
    """The identity of a sampling: the same inputs find the same set."""
    ident = {"experiment": experiment_id, "arm": arm, "model": model, "params": params_json(params)}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def open_trace_set(
    db: Database, experiment_id: int, arm: str | None, model: str, params: SamplingParams
) -> TraceSet:
    """The trace set of this student sampling (created on first use)."""
    one = replace(params, n=1)
    return ensure_trace_set(
        db,
        trace_set_key(experiment_id, arm, model, one),
        experiment_id=experiment_id,
        arm=arm,
        model=model,
        params_json=params_json(one),
    )


def sample_traces(
    db: Database,
    backend: Backend,
    problems: Sequence[ProblemAnswers],
    *,
    experiment_id: int,
    arm: str | None,
    samples: int,
    params: SamplingParams,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> SampleReport:
    """Sample `samples` traces per problem from `backend`, store and grade them.

    Resumable: traces already stored are not asked for again, and finished requests come
    from the engine's cache. Failed requests are counted and left for the next run.
    """
    trace_set = open_trace_set(db, experiment_id, arm, backend.model_id, params)
    report = SampleReport(trace_set.id, problems=len(problems), requested=len(problems) * samples)
    own = verifier is None
    verifier = verifier or Verifier()
    one = replace(params, n=1)
    total = report.requested
    try:
        for start in range(0, len(problems), CHUNK):
            chunk = problems[start : start + CHUNK]
            have = stored_samples(db, trace_set.id, [str(p.id) for p in chunk])
            wanted = [
                (p, i) for p in chunk for i in range(samples) if i not in have.get(str(p.id), ())
            ]
            report.already += len(chunk) * samples - len(wanted)
            done_before = report.already + report.stored + report.failed
            engine = Engine(db, backend, progress=_relay(progress, done_before, total))
            results = engine.run(
                [
                    Request(messages=student_messages(p.text), params=one, sample_index=i)
                    for p, i in wanted
                ]
            )
            new = []
            for (problem, index), result in zip(wanted, results, strict=True):
                if result.status != "done" or result.text is None:
                    report.failed += 1
                    continue
                new.append(
                    NewTrace(
                        item=str(problem.id),
                        sample_index=index,
                        text=result.text,
                        problem_id=problem.id,
                        request_key=result.key,
                        finish_reason=result.finish_reason,
                    )
                )
            report.stored += insert_traces(db, trace_set.id, new)
            _grade_chunk(db, trace_set.id, chunk, verifier, report)
            progress(
                ProgressEvent(
                    "sample traces",
                    report.already + report.stored + report.failed,
                    total,
                    failed=report.failed,
                )
            )
    finally:
        if own:
            verifier.close()
    return report


def _grade_chunk(
    db: Database,
    set_id: int,
    chunk: Sequence[ProblemAnswers],
    verifier: Verifier,
    report: SampleReport,
) -> None:
    """Grade every trace of these problems (references may have changed since last time)."""
    references: dict[str, Reference] = {str(p.id): problem_reference(p) for p in chunk}
    traces = set_traces(db, set_id, items=list(references))
    rewards = grade(verifier, [t.text for t in traces], [references[t.item] for t in traces])
    grades = []
    for trace, reward in zip(traces, rewards, strict=True):
        ref = references[trace.item]
        grades.append(
            TraceGrade(
                trace.id,
                reward.answer,
                reward.rule,
                ref.answer,
                ref.source,
                reward.verdict,
                reward.label,
            )
        )
        report.correct += reward.label == 1
        report.incorrect += reward.label == 0
        report.unverifiable += reward.label is None
    save_grades(db, grades)


def _relay(progress: Reporter, before: int, total: int) -> Reporter:
    """The engine's events for one chunk, counted into the whole sampling."""

    def relay(event: ProgressEvent) -> None:
        progress(replace(event, stage="sample traces", done=before + event.done, total=total))

    return relay
