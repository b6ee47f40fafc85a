"""`flames train`: SFT or DPO (LoRA or full) through TRL and `accelerate launch`, resumable.

Two forms: `flames train --method sft|dpo --data FILE --model MODEL --out DIR` trains on a
file; `flames train EXP [--arm A]` builds the arm's dataset and trains its student with the
experiment's `[training]` config. Flags override config values. The same command again
resumes from the newest checkpoint in DIR; a finished DIR is not retrained.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from pipeline.config.schema import TrainingConfig
from pipeline.llm.spec import EMBEDDED_MODEL
from pipeline.training import TrainResult, TrainSpec, train
from pipeline.training.launch import shipped_configs
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import reporter_bar

# Flags that override a `[training]` field of the same name (None: not given).
OVERRIDES = (
    "lora",
    "epochs",
    "max_steps",
    "batch_size",
    "gradient_accumulation",
    "learning_rate",
    "save_steps",
    "checkpoints",
    "max_seq_len",
    "accelerate_config",
    "precision",
    "merge",
    "seed",
    "gradient_checkpointing",
)


@click.command(name="train")
@click.argument("experiment", required=False)
@click.option("--arm", help="With EXP: the arm to train (default: every arm).")
@click.option("--method", type=click.Choice(["sft", "dpo"]), help="File form: the trainer [sft].")
@click.option("--data", type=click.Path(dir_okay=False), help="File form: JSONL or Parquet data.")
@click.option(
    "--model", help=f"Starting model: folder, Hub id or adapter folder [{EMBEDDED_MODEL}]."
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--lora/--full", default=None, help="LoRA adapters (default) or full fine-tuning.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Epochs [3].")
@click.option("--max-steps", type=click.IntRange(min=1), help="Optimizer steps (overrides epochs).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Per-device batch size [8].")
@click.option(
    "--gradient-accumulation", type=click.IntRange(min=1), help="Accumulated batches [1]."
)
@click.option(
    "--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Peak LR [1e-5]."
)
@click.option("--save-steps", type=click.IntRange(min=1), help="Checkpoint every S steps.")
@click.option("--checkpoints", type=click.IntRange(min=1), help="K checkpoints spread evenly [3].")
@click.option("--max-seq-len", type=click.IntRange(min=1), help="Tokens per example [2048].")
@click.option(
    "--accelerate-config",
    help=f"A shipped accelerate config ({', '.join(shipped_configs())}) or a YAML file [single].",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "bf16", "fp16", "fp32"]),
    help="auto: bf16 on GPU, fp32 on CPU.",
)
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None)
@click.option("--seed", type=int, help="Training seed [42].")
@click.option(
    "--merge", is_flag=True, default=None, help="Also write LoRA merged weights (DIR/merged)."
)
@db_option
def command(
    experiment: str | None,
    arm: str | None,
    method: str | None,
    data: str | None,
    model: str | None,
    out_dir: str | None,
    db_path: str,
    **flags: Any,
) -> None:
    """Train a student with TRL (SFT or DPO, LoRA or full) through `accelerate launch`.

    \b
    flames train --method sft --data sft.jsonl --model embedded:smollm2-135m-instruct --out run1
    flames train --method dpo --data pairs.jsonl --model run1 --out run1-dpo --max-steps 100
    flames train EXP --arm strict

    Running the same command again resumes from the newest checkpoint in the output folder
    (`resumed from step N`); a finished folder is not retrained. The output folder is a
    model: pass it as --model to `flames eval`, `flames llm run` or another `flames train`.
    """
    overrides = {name: flags[name] for name in OVERRIDES if flags.get(name) is not None}
    if "epochs" in overrides and "max_steps" in overrides:
        raise click.UsageError("give --epochs or --max-steps, not both")
    if experiment is not None:
        _train_experiment(
            experiment, arm, db_path, given=[method, data, model, out_dir, *overrides]
        )
        return
    if arm is not None:
        raise click.UsageError("--arm goes with an experiment: flames train EXP --arm A")
    missing = [flag for flag, value in (("--data", data), ("--out", out_dir)) if value is None]
    if missing:
        raise click.UsageError(f"the file form needs {' and '.join(missing)} (or give EXP)")
    assert data is not None and out_dir is not None
    settings = dataclasses.replace(TrainingConfig(), **overrides)
    if "max_steps" in overrides:
        settings = dataclasses.replace(settings, epochs=1.0)
    spec = TrainSpec(
        data=data,
        model=model or EMBEDDED_MODEL,
        out=out_dir,
        method=method or "sft",
        settings=settings,
    )
    run_and_report(spec, db_path)


def _train_experiment(experiment: str, arm: str | None, db_path: str, given: list[Any]) -> None:
    """`flames train EXP [--arm A]`: the flow up to its train stage (`flames run --until train`).

    The arm's dataset (the blend for SFT; for RFT, DPO and per-step DPO the SFT student
    first, then its samples) and the run come from the experiment's config, so flags that
    would change them are refused: change the config or add an arm instead.
    """
    if any(value is not None for value in given):
        raise click.UsageError(
            "with EXP, the data, model, output and [training] settings come from the "
            "experiment's config; edit it (or add an arm) instead of passing flags"
        )
    from pipeline.experiments.lookup import resolve_experiment
    from workbench.cli.run import command as run_command

    resolve_experiment(open_workspace(db_path), experiment)  # a typo must not create one
    context = click.get_current_context()
    context.invoke(
        run_command,
        experiment=experiment,
        preset="quickstart",
        arms=(arm,) if arm else (),
        until="train",
        from_stage=None,
        plan=False,
        out_dir=None,
        data_dir=None,
        db_path=db_path,
    )


def run_and_report(
    spec: TrainSpec, db_path: str, *, experiment_id: int | None = None, arm_id: int | None = None
) -> TrainResult:
    """Train with a progress bar, then say where the model is and how the run ended."""
    with reporter_bar(f"train {spec.method}") as progress:
        result = train(
            spec,
            progress=progress,
            db_path=db_path,
            experiment_id=experiment_id,
            arm_id=arm_id,
            say=lambda line: click.echo(line, err=True),
        )
    _summary(result)
    return result


def _summary(result: TrainResult) -> None:
    loss = result.final_metrics.get("train_loss", result.final_metrics.get("loss"))
    parts = [f"{result.steps} steps"]
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    if result.run_id is not None:
        parts.append(f"run {result.run_id}")
    click.echo(f"trained: {', '.join(parts)}")
    if result.last_checkpoint:
        click.echo(f"last checkpoint: {result.last_checkpoint}")
    if result.best is not None:
        click.echo(
            f"best checkpoint: {result.best.path} (step {result.best.step}, "
            f"mean {result.best.score:.3f}; best-of-K on these benchmarks is optimistic there)"
        )
    click.echo(f"model: {result.model_dir}  (use it as --model)")
    if result.merged_dir:
        click.echo(f"merged weights: {result.merged_dir}")
