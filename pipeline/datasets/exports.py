"""`flames export rft|dpo|step-dpo`: an arm's training set from its student's own samples.

Each export samples the student's traces (resumably, through the engine), builds its set
(`rft`, `dpo`, `step_pairs`), and writes a TRL-ready file with its dataset card. Nothing is
written while any request has failed: the same command again retries the failures and
finishes the file. The card records what the training run needs to know: the method, the
model the traces came from (the DPO reference, the SFT student), and for RFT where training
starts (`rft_start`: the base model or the SFT student).

API for the flow and the TUI:
    export_rft(db, experiment, backend, target, arm=..., progress=...)      -> ExportResult
    export_dpo(db, experiment, backend, target, arm=..., progress=...)      -> ExportResult
    export_step_dpo(db, experiment, backend, target, arm=..., plan=..., progress=...)
Options come from the experiment's (or arm's) `[datasets]` config; a `target` names the file.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.answers.verification import Verifier
from pipeline.config import ExperimentConfig, named_arm_config
from pipeline.datasets.cards import DatasetCard, StrategyRow, card_paths, write_card
from pipeline.datasets.dpo import Candidate, pair_problem
from pipeline.datasets.formats import (
    DatasetWriter,
    WrittenFile,
    check_new,
    preference_record,
    sft_record,
)
from pipeline.datasets.rewards import Reference
from pipeline.datasets.rft import select_rft
from pipeline.datasets.rollouts import NegativeTrace, RolloutPlan, estimate_values
from pipeline.datasets.step_pairs import StepPair, build_pair
from pipeline.datasets.steps import SplitRule
from pipeline.datasets.traces import SampleReport, sample_traces, training_problems
from pipeline.errors import FlamesError
from pipeline.experiments.lookup import experiment_name, resolve_experiment
from pipeline.experiments.store import load_experiment
from pipeline.llm.backend import Backend
from pipeline.progress import Reporter, ignore
from pipeline.selection.policy import is_truncated
from storage.traces import TraceRow, set_traces
from storage.training_problems import ProblemAnswers, problem_strategies, teacher_solutions

STEP_NOTES = (
    "per-step DPO after Setlur et al. 2024: Q(i) best-of-K over rollouts of each prefix, "
    "critical step = first i >= 1 with Q(i) = 0, traces with Q(0) = 0 skipped",
    "prefix-0 rollouts are shared by the traces of one problem (same requests): Q(0) is a "
    "property of the problem under the student",
    "steps are split per trace (auto: sentences for LaTeX-heavy or one-paragraph traces, "
    "lines otherwise), not per dataset as in the paper",
)


@dataclass(frozen=True)
class ExportTarget:
    """Where a dataset goes and how it is written."""

    out: Path
    record_format: str | None = None  # messages | prompt-completion (None: the config's)
    overwrite: bool = False
    command: str = ""  # the command line that writes it again (for the card)


@dataclass
class ExportResult:
    """What an export did; `file` is None when failures kept it from writing."""

    kind: str
    sampling: SampleReport
    problems_source: str
    examples: int = 0
    failed: int = 0  # requests that failed (sampling and rollouts); rerun to retry
    skipped: dict[str, int] = field(default_factory=dict)
    file: WrittenFile | None = None
    card: DatasetCard | None = None
    card_files: tuple[Path, Path] | None = None


@dataclass(frozen=True)
class _Context:
    experiment_id: int
    name: str
    arm: str | None
    config: ExperimentConfig


def _context(db: Database, experiment: str | int, arm: str | None) -> _Context:
    experiment_id = resolve_experiment(db, experiment)
    name = experiment_name(db, experiment_id)
    # An arm the config does not declare (the run's "default" arm) uses the base config.
    config = named_arm_config(load_experiment(db, name), arm, undeclared_is_base=True)
    return _Context(experiment_id, name, arm, config)


def _sample(
    db: Database,
    ctx: _Context,
    backend: Backend,
    verifier: Verifier,
    progress: Reporter,
) -> tuple[SampleReport, list[ProblemAnswers], str]:
    problems, source = training_problems(db, ctx.experiment_id, ctx.arm)
    if not problems:
        raise FlamesError(
            f"experiment '{ctx.name}' has no problems to sample traces for: "
            "solve and select first (a problem needs a reference answer or a teacher majority)"
        )
    datasets = ctx.config.datasets
    report = sample_traces(
        db,
        backend,
        problems,
        experiment_id=ctx.experiment_id,
        arm=ctx.arm,
        samples=datasets.samples,
        params=datasets.sampling,
        verifier=verifier,
        progress=progress,
    )
    return report, problems, source


def _traces_by_problem(
    db: Database, set_id: int, problems: Sequence[ProblemAnswers], samples: int
) -> dict[int, list[TraceRow]]:
    """The set's graded traces of these problems (the first `samples` of each), by problem."""
    wanted = {str(p.id) for p in problems}
    grouped: dict[int, list[TraceRow]] = {}
    for trace in set_traces(db, set_id, graded=True, items=sorted(wanted)):
        if trace.problem_id is not None and trace.sample_index < samples:
            grouped.setdefault(trace.problem_id, []).append(trace)
    return grouped


def export_rft(
    db: Database,
    experiment: str | int,
    backend: Backend,
    target: ExportTarget,
    *,
    arm: str | None = None,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> ExportResult:
    """Sample the student, keep its correct distinct traces (up to R per problem), write them."""
    ctx = _context(db, experiment, arm)
    target = _check_targets(target, ctx)
    with _verifier(verifier) as grader:
        sampling, problems, source = _sample(db, ctx, backend, grader, progress)
    result = ExportResult("rft", sampling, source, failed=sampling.failed)
    if result.failed:
        return result
    traces = [
        t
        for rows in _traces_by_problem(
            db, sampling.set_id, problems, ctx.config.datasets.samples
        ).values()
        for t in rows
    ]
    chosen = select_rft(traces, ctx.config.datasets.rft_keep)
    texts = {p.id: p.text for p in problems}
    records = [
        (t.problem_id, sft_record(_fmt(target), texts[t.problem_id], t.text))
        for t in chosen.kept
        if t.problem_id is not None
    ]
    result.skipped = chosen.skipped
    extra = {
        "rft_start": ctx.config.training.rft_start,
        "base_model": ctx.config.models.student.model,
        "sampled_from": backend.model_id,
        "samples_per_problem": ctx.config.datasets.samples,
        "keep_per_problem": ctx.config.datasets.rft_keep,
        "problems_with_examples": chosen.problems,
    }
    _write(db, ctx, target, result, records, extra, notes=())
    return result


def export_dpo(
    db: Database,
    experiment: str | int,
    backend: Backend,
    target: ExportTarget,
    *,
    arm: str | None = None,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> ExportResult:
    """Pair correct against incorrect student traces of each problem (the plain DPO baseline)."""
    ctx = _context(db, experiment, arm)
    target = _check_targets(target, ctx)
    with _verifier(verifier) as grader:
        sampling, problems, source = _sample(db, ctx, backend, grader, progress)
    result = ExportResult("dpo", sampling, source, failed=sampling.failed)
    if result.failed:
        return result
    datasets = ctx.config.datasets
    grouped = _traces_by_problem(db, sampling.set_id, problems, ctx.config.datasets.samples)
    teacher = teacher_solutions(db, [p.id for p in problems])
    records: list[tuple[int, dict[str, Any]]] = []
    sources: Counter[str] = Counter()
    for problem in problems:
        rows = grouped.get(problem.id, [])
        correct = [
            Candidate(t.text, "student", t.sample_index)
            for t in rows
            if t.label == 1 and not is_truncated(t.finish_reason)
        ]
        if not correct:
            correct = [
                Candidate(text, "teacher", i) for i, text in enumerate(teacher.get(problem.id, []))
            ]
        incorrect = [Candidate(t.text, "student", t.sample_index) for t in rows if t.label == 0]
        if not incorrect:
            result.skipped["no_incorrect"] = result.skipped.get("no_incorrect", 0) + 1
            continue
        if not correct:
            result.skipped["no_correct"] = result.skipped.get("no_correct", 0) + 1
            continue
        for pair in pair_problem(
            str(problem.id),
            problem.text,
            correct,
            incorrect,
            pairing=datasets.dpo_pairing,
            pairs_per_problem=datasets.dpo_pairs,
            seed=ctx.config.experiment.seed,
        ):
            sources[pair.chosen.source] += 1
            records.append(
                (
                    problem.id,
                    preference_record(
                        _fmt(target), problem.text, pair.chosen.text, pair.rejected.text
                    ),
                )
            )
    extra = {
        "reference_model": backend.model_id,
        "sampled_from": backend.model_id,
        "pairing": datasets.dpo_pairing,
        "pairs_per_problem": datasets.dpo_pairs,
        "samples_per_problem": datasets.samples,
        "chosen_from": dict(sources),
    }
    notes = ("chosen falls back to the teacher's correct solutions where the student has none",)
    _write(db, ctx, target, result, records, extra, notes=notes)
    return result


def step_plan(config: ExperimentConfig) -> RolloutPlan:
    """The rollout plan an experiment's `[datasets]` and `training.rollouts_k` describe."""
    datasets = config.datasets
    return RolloutPlan(
        k=config.training.rollouts_k,
        params=datasets.rollout_sampling,
        split=SplitRule(
            mode=datasets.step_split,
            min_chars=datasets.step_min_chars,
            max_steps=datasets.step_max_steps,
        ),
        all_steps=datasets.all_steps,
    )


def export_step_dpo(
    db: Database,
    experiment: str | int,
    backend: Backend,
    target: ExportTarget,
    *,
    arm: str | None = None,
    plan: RolloutPlan | None = None,
    variant: str | None = None,
    prefer_given: bool = False,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> ExportResult:
    """Roll out the student's incorrect traces, find their critical steps, write the pairs.

    `plan` and `variant` default to the config's; with `prefer_given`, chosen is a correct
    student trace of the problem where there is one (else the correct rollout).
    """
    ctx = _context(db, experiment, arm)
    target = _check_targets(target, ctx)
    plan = plan or step_plan(ctx.config)
    variant = variant or ctx.config.datasets.step_variant
    with _verifier(verifier) as grader:
        sampling, problems, source = _sample(db, ctx, backend, grader, progress)
        result = ExportResult("step-dpo", sampling, source, failed=sampling.failed)
        if result.failed:
            return result
        grouped = _traces_by_problem(db, sampling.set_id, problems, ctx.config.datasets.samples)
        texts = {p.id: p.text for p in problems}
        negatives, given = [], {}
        for pid, rows in grouped.items():
            for t in [t for t in rows if t.label == 0][: ctx.config.datasets.step_traces]:
                reference = Reference(t.reference, t.reference_source or "none")
                negatives.append(NegativeTrace(str(t.id), texts[pid], t.text, reference, t.id))
            good = [t.text for t in rows if t.label == 1 and not is_truncated(t.finish_reason)]
            if good:
                given[pid] = good[0]
        values = estimate_values(db, backend, negatives, plan, verifier=grader, progress=progress)
    result.failed += values.failed
    if result.failed:
        return result
    problem_of = {str(t.id): t.problem_id for rows in grouped.values() for t in rows}
    records: list[tuple[int, dict[str, Any]]] = []
    pairs: list[StepPair] = []
    for valued in values.traces:
        pid = problem_of[valued.trace.key] or 0
        pair = build_pair(valued, variant=variant, given=given.get(pid), prefer_given=prefer_given)
        if pair is not None:
            pairs.append(pair)
            records.append((pid, pair.record(_fmt(target))))
    result.skipped = {k: v for k, v in values.status_counts().items() if k != "pit"}
    positions = Counter(p.critical_step for p in pairs)
    extra = {
        "reference_model": backend.model_id,
        "sampled_from": backend.model_id,
        "rollouts_k": plan.k,
        "rollout_sampling": dataclasses.asdict(plan.params),
        "split": dataclasses.asdict(plan.split),
        "all_steps": plan.all_steps,
        "variant": variant,
        "incorrect_traces_per_problem": ctx.config.datasets.step_traces,
        "rollout_requests": values.requests,
        "critical_steps": {str(k): positions[k] for k in sorted(positions)},
        "chosen_from": dict(Counter(p.chosen_source for p in pairs)),
    }
    _write(db, ctx, target, result, records, extra, notes=STEP_NOTES)
    return result


def _check_targets(target: ExportTarget, ctx: _Context) -> ExportTarget:
    """The target with its record format; refuses an existing file (or card) before any
    model work, unless overwriting."""
    check_new(target.out, target.overwrite)
    for path in card_paths(target.out):
        check_new(path, target.overwrite)
    if target.record_format is None:
        return dataclasses.replace(target, record_format=ctx.config.datasets.record_format)
    return target


def _fmt(target: ExportTarget) -> str:
    assert target.record_format is not None  # set by _check_targets
    return target.record_format


class _verifier:
    """The caller's verifier, or one of our own closed on exit."""

    def __init__(self, given: Verifier | None) -> None:
        self.given = given
        self.own: Verifier | None = None

    def __enter__(self) -> Verifier:
        if self.given is not None:
            return self.given
        self.own = Verifier()
        return self.own

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.close()


def _write(
    db: Database,
    ctx: _Context,
    target: ExportTarget,
    result: ExportResult,
    records: Iterable[tuple[int, dict[str, Any]]],
    extra: dict[str, Any],
    *,
    notes: Sequence[str],
) -> None:
    rows = list(records)
    strategies = problem_strategies(db, sorted({pid for pid, _ in rows}))
    counts = Counter(strategies.get(pid, "unknown") for pid, _ in rows)
    with DatasetWriter(target.out, overwrite=target.overwrite) as writer:
        writer.write_all(record for _, record in rows)
    written = writer.commit()
    card = DatasetCard(
        name=target.out.stem,
        kind=result.kind,
        experiment=ctx.name,
        arm=ctx.arm,
        record_format=_fmt(target),
        selection=dataclasses.asdict(ctx.config.filter),
        strategies=tuple(StrategyRow(name, counts[name]) for name in sorted(counts)),
        command=target.command,
        skipped=result.skipped,
        models={
            "student": [ctx.config.models.student.model],
            "sampled_from": [str(extra.get("sampled_from", ""))],
        },
        files={written.path.name: written.sha256},
        notes=tuple(notes),
        extra={
            **extra,
            "problems": result.problems_source,
            "trace_set": result.sampling.set_id,
            "traces": {
                "correct": result.sampling.correct,
                "incorrect": result.sampling.incorrect,
                "unverifiable": result.sampling.unverifiable,
            },
        },
    )
    result.examples = written.rows
    result.file = written
    result.card = card
    result.card_files = write_card(card, target.out, overwrite=target.overwrite)
