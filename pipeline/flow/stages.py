"""The stage functions of `flames run`: each calls the one pipeline function for its stage.

Nothing here re-implements a stage: generation, dedup, decontamination, solving,
selection, the blend, datasets, training and evaluation live in their own packages. A
stage function adapts the node's config and its upstream outputs to that call, and
reports one summary line, what the node produced (paths, run ids, counts) and a digest
its dependents key on.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.flow.graph import BASE_ARM, arm_plan
from pipeline.flow.runner import StageContext, StageFunction, StageResult
from pipeline.progress import ProgressEvent
from storage import flow as rows


def generate_stage(ctx: StageContext) -> StageResult:
    """Every arm's strategies at once (the union plan), through the resumable engine."""
    from pipeline.experiments.store import load_experiment
    from pipeline.generation.generate import generate

    stored = load_experiment(ctx.db, ctx.config.name)
    kwargs: dict[str, Any] = {}
    if _plan_of(stored) != _plan_of(ctx.config):
        if "config" not in inspect.signature(generate).parameters:
            raise ConfigError(
                f"experiment '{ctx.config.name}': an arm raises a strategy's budget or enables "
                "a strategy the base config does not run; give the base config the largest "
                "budget (arms may lower or disable it)"
            )
        kwargs["config"] = ctx.config
    reports = generate(
        ctx.db,
        ctx.config.name,
        backend=ctx.backend,
        progress=ctx.progress,
        data_dir=ctx.data_dir,
        **kwargs,
    )
    produced = sum(r.produced for r in reports)
    rejected = sum(r.rejected_total for r in reports)
    failed = sum(r.failed for r in reports)
    per = ", ".join(f"{r.strategy} {r.produced}" for r in reports)
    return StageResult(
        f"{produced} generated, {rejected} rejected by the checks, {failed} failed ({per})",
        {"generated": produced, "rejected": rejected},
        failures=failed,
    )


def _plan_of(config: Any) -> dict[str, tuple[int, Any]]:
    return {n: (s.budget, s.params) for n, s in config.enabled_strategies().items()}


def dedup_stage(ctx: StageContext) -> StageResult:
    from pipeline.dedup.experiment import dedup_experiment

    threshold = float(ctx.node.inputs["threshold"])
    summary = dedup_experiment(
        ctx.db,
        ctx.config.name,
        threshold,
        progress=lambda step, done, total: ctx.progress(
            ProgressEvent(f"dedup {step}", done, total)
        ),
    )
    return StageResult(
        f"{summary.items} problems, {summary.exact_dups} exact duplicates, "
        f"{summary.pairs} pairs >= {threshold:g}, {summary.clusters} clusters",
        {"exact_dups": summary.exact_dups, "pairs": summary.pairs},
    )


def decontaminate_stage(ctx: StageContext) -> StageResult:
    """Overlap with the benchmarks every arm names; none named is an explicit opt-out."""
    from pipeline.benchmarks.loading import load_benchmarks
    from pipeline.decontam.contamination import decontaminate_experiment
    from pipeline.decontam.index import NgramIndex

    specs = list(ctx.node.inputs["against"])
    if not specs:
        return StageResult(
            "not checked: filter.decontam_against = [] in the config (an explicit opt-out)",
            {"opted_out": True},
        )
    try:
        items = load_benchmarks(specs, ctx.data_dir)
    except ConfigError as exc:
        raise ConfigError(
            f"decontaminate: {exc}. Give the benchmark files with --data-dir (or "
            "$FLAMES_DATA_DIR), or opt out with filter.decontam_against = [] in the config"
        ) from None
    index = NgramIndex(items, n=int(ctx.node.inputs["ngram"]))
    containment = float(ctx.node.inputs["containment"])
    summary = decontaminate_experiment(
        ctx.db,
        ctx.config.name,
        index,
        containment,
        specs,
        progress=lambda done, total: ctx.progress(ProgressEvent("decontaminate", done, total)),
    )
    return StageResult(
        f"{summary.contaminated} of {summary.problems} problems overlap "
        f"{', '.join(specs)} ({summary.benchmark_items} items) at >= {containment:g}",
        {"contaminated": summary.contaminated, "benchmark_items": summary.benchmark_items},
    )


def solve_stage(ctx: StageContext) -> StageResult:
    """K teacher solutions per problem and their scores; the judge when an arm reads it."""
    from pipeline.solving.teacher import solve

    report = solve(ctx.db, ctx.config.name, backend=ctx.backend, progress=ctx.progress)
    line = (
        f"{report.stored} new solutions for {report.problems} problems "
        f"({report.already} stored before, {report.failed} failed)"
    )
    failures = report.failed
    if ctx.node.inputs.get("judge"):
        judged, failed = _judge(ctx)
        line += f"; judged {judged} problems"
        failures += failed
    return StageResult(line, {"solutions": report.stored + report.already}, failures=failures)


def _judge(ctx: StageContext) -> tuple[int, int]:
    from pipeline.llm.backend import load_backend
    from pipeline.llm.engine import Engine
    from pipeline.solving.judge import judge_experiment

    backend = ctx.backend or load_backend(ctx.config.models.judge)
    try:
        engine = Engine(ctx.db, backend, progress=ctx.progress)
        judged = judge_experiment(ctx.db, ctx.config.name, engine, params=ctx.config.sampling.judge)
    finally:
        if ctx.backend is None:
            backend.close()
    return judged, 0


def select_stage(ctx: StageContext) -> StageResult:
    """Record the arm's problems (its prefix of each strategy) and what its policy keeps.

    An arm owns, per strategy it enables, the first `budget` problems generated for that
    strategy (attempts in `attempts` mode, kept problems in `kept` mode): the shared run is
    the largest plan, and a plan is a prefix of any larger one.
    """
    from pipeline.selection.selection import JOINS, Selection, kept_condition

    members: list[int] = []
    for strategy, budget in arm_plan(ctx.config).items():
        settings = ctx.config.strategies[strategy]
        members += rows.strategy_prefix(
            ctx.db,
            ctx.experiment_id,
            strategy,
            budget,
            kept_only=getattr(settings, "budget_mode", "attempts") == "kept",
        )
    for arm in ctx.node.arms:
        rows.set_arm_problems(ctx.db, ctx.experiment_id, arm, members)
    selection = Selection.from_config(ctx.config.filter)
    condition, params = kept_condition(selection)
    kept = rows.kept_arm_problems(ctx.db, ctx.experiment_id, ctx.arm, JOINS, condition, params)
    return StageResult(
        f"{len(kept)} of {len(members)} problems kept ({selection.describe()})",
        {"problems": len(members), "kept": len(kept), "selection": selection.to_dict()},
        digest=_ids_digest(kept),
    )


def _ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _not_ready(stage: str) -> StageFunction:
    def run(ctx: StageContext) -> StageResult:
        raise ConfigError(f"the {stage} stage is not available in this build")

    return run


STAGE_FUNCTIONS: dict[str, StageFunction] = {
    "generate": generate_stage,
    "dedup": dedup_stage,
    "decontaminate": decontaminate_stage,
    "solve": solve_stage,
    "select": select_stage,
    "blend": _not_ready("blend"),
    "dataset": _not_ready("dataset"),
    "train": _not_ready("train"),
    "eval": _not_ready("eval"),
}

__all__ = ["BASE_ARM", "STAGE_FUNCTIONS"]
