"""The stage functions that make and judge the student: dataset, train and eval.

As in `pipeline.flow.stages`, each calls the one pipeline function for its stage: the
datasets exports (RFT, DPO, per-step DPO from the SFT student), `pipeline.training.train`
(through `accelerate launch`; a rerun resumes from the newest checkpoint) and
`pipeline.evaluation.harness.evaluate` (an arm's student, or the untrained one as `base`).
"""

from __future__ import annotations

from pipeline.errors import ConfigError, FlamesError
from pipeline.flow.graph import BASE_ARM
from pipeline.flow.runner import StageContext, StageResult
from pipeline.progress import ProgressEvent


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

    from pipeline.evaluation.harness import Attachment, config_prompt, evaluate

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
    report = evaluate(
        ctx.db,
        model,
        list(evaluation.benchmarks),
        sampling=ctx.config.sampling.eval,
        prompt=config_prompt(evaluation),
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
