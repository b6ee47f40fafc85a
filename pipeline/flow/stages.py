"""The stage functions of `flames run`: each calls the one pipeline function for its stage.

Nothing here re-implements a stage: generation, dedup, decontamination, solving,
selection, the blend, datasets, training and evaluation live in their own packages. A
stage function adapts the node's config and its upstream outputs to that call, and
reports one summary line, what the node produced (paths, run ids, counts) and a digest
its dependents key on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.digest import file_sha256
from pipeline.errors import ConfigError
from pipeline.flow.graph import BASE_ARM, arm_plan

# Stages that train or run the student live in `model_stages` (one reason to change each).
from pipeline.flow.model_stages import dataset_stage, eval_stage, train_stage
from pipeline.flow.runner import StageContext, StageFunction, StageResult
from storage import flow as rows

if TYPE_CHECKING:
    from pipeline.solving.reward import RewardReport


def generate_stage(ctx: StageContext) -> StageResult:
    """Every arm's strategies at once (the union plan), through the resumable engine."""
    from pipeline.experiments.store import load_experiment
    from pipeline.generation.generate import generate

    stored = load_experiment(ctx.db, ctx.config.name)
    # The union of the arms' plans, when an arm raises a budget or adds a strategy.
    union = ctx.config if _plan_of(stored) != _plan_of(ctx.config) else None
    reports = generate(
        ctx.db,
        ctx.config.name,
        backend=ctx.backend,
        progress=ctx.progress,
        data_dir=ctx.data_dir,
        config=union,
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
        progress=ctx.progress,
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
        progress=ctx.progress,
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
    if ctx.node.inputs.get("reward"):
        rewarded = _reward(ctx)
        line += f"; reward model scored {rewarded.scored} solutions ({rewarded.failed} failed)"
        failures += rewarded.failed
    return StageResult(line, {"solutions": report.stored + report.already}, failures=failures)


def _reward(ctx: StageContext) -> RewardReport:
    """Reward-model scores for a judge_reward arm (`flames reward`), resumable."""
    from pipeline.solving.reward import load_scorer, score_rewards

    assert ctx.config.models.reward is not None  # the graph asks only when one is configured
    scorer = load_scorer(ctx.config.models.reward)
    try:
        return score_rewards(ctx.db, ctx.config.name, scorer, progress=ctx.progress)
    finally:
        scorer.close()


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

    An arm owns every problem of a strategy it runs at the shared run's budget, and of a
    strategy it runs at a lower budget the first `budget` problems generated (attempts in
    `attempts` mode, kept problems in `kept` mode): the shared run is the largest plan, and
    a plan is a prefix of any larger one.
    """
    from pipeline.selection.selection import JOINS, Selection, kept_condition

    whole = set(ctx.node.inputs.get("whole", ()))
    members: list[int] = []
    for strategy, budget in arm_plan(ctx.config).items():
        members += rows.strategy_prefix(
            ctx.db,
            ctx.experiment_id,
            strategy,
            None if strategy in whole else budget,
            kept_only=_kept_mode(ctx.config, strategy),
        )
    for arm in ctx.node.arms:
        rows.set_arm_problems(ctx.db, ctx.experiment_id, arm, members)
    selection = Selection.from_config(ctx.config.filter)
    condition, params = kept_condition(selection)
    kept = rows.kept_arm_problems(ctx.db, ctx.experiment_id, ctx.arm, JOINS, condition, params)
    return StageResult(
        f"{len(kept)} of {len(members)} generated kept by the selection ({selection.describe()})",
        {"problems": len(members), "kept": len(kept), "selection": selection.to_dict()},
        digest=_ids_digest(kept),
    )


def blend_stage(ctx: StageContext) -> StageResult:
    """The arm's training set: its blend of kept problems, one solution each (JSONL + card).

    Ratios are restricted to the strategies the arm runs (a strategy arm blends its one
    strategy); no ratios means equal shares; no total means every kept problem.
    """
    from pipeline.datasets.blend import export_blend
    from pipeline.selection.selection import Selection

    plan = arm_plan(ctx.config)
    ratios = {s: float(r) for s, r in ctx.config.blend.ratios.items() if s in plan and r > 0}
    ratios = ratios or {s: 1.0 for s in plan}
    total = ctx.config.blend.total or int(ctx.upstream["select"]["kept"])
    if not ratios or total <= 0:
        raise ConfigError(
            f"arm '{ctx.arm}' keeps no problems: nothing to train on (see `flames filter "
            f"{ctx.config.name}` and the arm's filter settings)"
        )
    path = ctx.node_dir() / "blend.jsonl"
    result = export_blend(
        ctx.db,
        ctx.experiment_id,
        ratios,
        total,
        Selection.from_config(ctx.config.filter),
        path,
        overwrite=True,
        name=f"{ctx.config.name}-{ctx.arm}",
        command=f"flames run {ctx.config.name} --arm {ctx.arm} --until blend",
        arm=ctx.arm,
        members=ctx.arm,
        progress=ctx.progress,
    )
    written = sum(result.written.values())
    short = [f"{line.strategy} short by {line.short}" for line in result.plan if line.short]
    return StageResult(
        f"{written} of {total} examples" + (f" ({'; '.join(short)})" if short else ""),
        {"path": str(path), "examples": written, "total": total},
        digest=_file_digest(path),
    )


def _kept_mode(config: Any, strategy: str) -> bool:
    """Whether a strategy's budget counts kept problems (fill to target), not attempts."""
    return getattr(config.strategies[strategy], "budget_mode", "attempts") == "kept"


def _ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    return file_sha256(path)[:16]


STAGE_FUNCTIONS: dict[str, StageFunction] = {
    "generate": generate_stage,
    "dedup": dedup_stage,
    "decontaminate": decontaminate_stage,
    "solve": solve_stage,
    "select": select_stage,
    "blend": blend_stage,
    "dataset": dataset_stage,
    "train": train_stage,
    "eval": eval_stage,
}

__all__ = ["BASE_ARM", "STAGE_FUNCTIONS"]
