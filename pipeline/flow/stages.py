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

from pipeline.errors import ConfigError, FlamesError
from pipeline.flow.graph import BASE_ARM, arm_plan
from pipeline.flow.runner import StageContext, StageFunction, StageResult
from pipeline.progress import ProgressEvent
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

    An arm owns, per strategy it enables, the first `budget` problems generated for that
    strategy (attempts in `attempts` mode, kept problems in `kept` mode): the shared run is
    the largest plan, and a plan is a prefix of any larger one.
    """
    from pipeline.selection.selection import JOINS, Selection, kept_condition

    members: list[int] = []
    for strategy, budget in arm_plan(ctx.config).items():
        members += rows.strategy_prefix(
            ctx.db,
            ctx.experiment_id,
            strategy,
            budget,
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
    _check_whole_strategies(ctx, plan)
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
        progress=ctx.progress,
    )
    written = sum(result.written.values())
    short = [f"{line.strategy} short by {line.short}" for line in result.plan if line.short]
    return StageResult(
        f"{written} of {total} examples" + (f" ({'; '.join(short)})" if short else ""),
        {"path": str(path), "examples": written, "total": total},
        digest=_file_digest(path),
    )


def _check_whole_strategies(ctx: StageContext, plan: dict[str, int]) -> None:
    """The blend draws from whole strategies: an arm may not own only part of one (yet)."""
    every = rows.strategy_sizes(ctx.db, ctx.experiment_id)
    ok = rows.strategy_sizes(ctx.db, ctx.experiment_id, ok_only=True)
    members = rows.arm_strategy_sizes(ctx.db, ctx.experiment_id, ctx.arm)
    partial = [
        s
        for s in plan
        if members.get(s, 0) < (ok if _kept_mode(ctx.config, s) else every).get(s, 0)
    ]
    if partial:
        raise ConfigError(
            f"arm '{ctx.arm}' owns part of strategy '{partial[0]}' (a lower budget than another "
            "arm); the blend draws from whole strategies: give arms the same budget per "
            "strategy and vary blend.total for a data-size ladder"
        )


def dataset_stage(ctx: StageContext) -> StageResult:
    """The method's training file: the blend itself for SFT; for RFT, DPO and per-step DPO,
    the SFT student's own samples on the arm's problems (`pipeline.datasets.exports`)."""
    import dataclasses

    from pipeline.datasets.exports import ExportTarget, export_dpo, export_rft, export_step_dpo
    from pipeline.llm.backend import load_backend

    method = ctx.node.inputs["method"]
    blend = ctx.upstream["blend"]
    if method == "sft":
        return StageResult(
            f"SFT on the blend: {blend['examples']} examples",
            {"path": blend["path"], "rows": blend["examples"], "method": method},
            digest=str(blend["digest"]),
        )
    exports = {"rft": export_rft, "dpo": export_dpo, "step_dpo": export_step_dpo}
    kind = method.replace("_", "-")
    student = str(ctx.upstream["sft_train"]["model"])
    target = ExportTarget(
        out=ctx.node_dir() / f"{method}.jsonl",
        overwrite=True,
        command=f"flames export {kind} {ctx.config.name} --arm {ctx.arm}",
    )
    backend = ctx.backend or load_backend(
        dataclasses.replace(ctx.config.models.student, model=student)
    )
    try:
        result = exports[method](
            ctx.db, ctx.config.name, backend, target, arm=ctx.arm, progress=ctx.progress
        )
    finally:
        if ctx.backend is None:
            backend.close()
    if result.file is None:
        raise FlamesError(
            f"{kind} data for arm '{ctx.arm}' not written: {result.failed} requests to the SFT "
            "student failed; run again to retry them"
        )
    return StageResult(
        f"{kind} from the SFT student {student}: {result.examples} examples",
        {"path": str(result.file.path), "rows": result.file.rows, "method": method},
        digest=result.file.sha256[:16],
    )


def train_stage(ctx: StageContext) -> StageResult:
    """The arm's student trained on its dataset (TRL via accelerate; resumes a killed run)."""
    from pipeline.training.run import train
    from pipeline.training.spec import TrainSpec

    method = ctx.node.inputs["method"]
    settings = ctx.config.training
    start = ctx.config.models.student.model
    continues = method in ("dpo", "step_dpo") or (method == "rft" and settings.rft_start != "base")
    if continues:
        start = str(ctx.upstream["sft_train"]["model"])
    spec = TrainSpec(
        data=str(ctx.upstream["dataset"]["path"]),
        model=start,
        out=str(ctx.node_dir() / "model"),
        method=method,
        settings=settings,
    )
    result = train(
        spec,
        progress=ctx.progress,
        db_path=_db_path(ctx),
        experiment_id=ctx.experiment_id,
        arm_id=_arm_id(ctx, required=False),
        say=lambda line: ctx.progress(ProgressEvent("train", 0, None, line)),
    )
    model = result.model_dir
    chosen = "last"
    if ctx.config.evaluation.checkpoint == "best" and result.best is not None:
        model, chosen = str(result.best.path), f"best of {len(result.checkpoint_scores)}"
    resumed = f", resumed from step {result.resumed_from}" if result.resumed_from else ""
    return StageResult(
        f"{method} from {start}: {result.steps} steps{resumed} -> {model} ({chosen} checkpoint)",
        {
            "model": model,
            "training_run_id": result.run_id,
            "steps": result.steps,
            "checkpoint": chosen,
        },
    )


def _db_path(ctx: StageContext) -> str | None:
    row = ctx.db.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row and row[2] else None


def eval_stage(ctx: StageContext) -> StageResult:
    """The arm's trained student (or, for the base row, the untrained one) on the benchmarks."""
    import dataclasses

    from pipeline.benchmarks.registry import Prompt
    from pipeline.evaluation.harness import Attachment, evaluate

    evaluation = ctx.config.evaluation
    student = ctx.config.models.student
    if ctx.arm == BASE_ARM:
        model, attach = student, Attachment(ctx.experiment_id, role="base")
    else:
        trained = ctx.upstream["train"]
        model = dataclasses.replace(student, model=str(trained["model"]))
        attach = Attachment(
            ctx.experiment_id,
            arm_id=_arm_id(ctx),
            role="arm",
            training_run_id=trained.get("training_run_id"),
            checkpoint=trained.get("checkpoint"),
            checkpoint_step=trained.get("checkpoint_step"),
        )
    prompt = Prompt(evaluation.prompt, evaluation.system) if evaluation.prompt else None
    report = evaluate(
        ctx.db,
        model,
        list(evaluation.benchmarks),
        sampling=ctx.config.sampling.eval,
        prompt=prompt,
        data_dir=evaluation.data_dir or ctx.data_dir,
        limit=evaluation.limit,
        attach=attach,
        backend=ctx.backend,
        progress=ctx.progress,
    )
    scores = ", ".join(
        f"{name} {b.score.accuracy:.1%} of {b.score.n}" for name, b in report.benchmarks.items()
    )
    who = "the untrained student" if ctx.arm == BASE_ARM else f"arm {ctx.arm}'s student"
    return StageResult(
        f"{who}: {scores}",
        {"runs": {name: b.run_id for name, b in report.benchmarks.items()}},
        failures=report.failed,
    )


def _arm_id(ctx: StageContext, *, required: bool = True) -> int | None:
    from storage.experiments import arm_rows

    for row in arm_rows(ctx.db, ctx.experiment_id):
        if row["name"] == ctx.arm:
            return int(row["id"])
    if not required:
        return None
    raise ConfigError(
        f"experiment '{ctx.config.name}' declares no arms: add [[arms]] (an arm per variant) "
        "so its evaluations have a row to belong to"
    )


def _kept_mode(config: Any, strategy: str) -> bool:
    """Whether a strategy's budget counts kept problems (fill to target), not attempts."""
    return getattr(config.strategies[strategy], "budget_mode", "attempts") == "kept"


def _ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


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
