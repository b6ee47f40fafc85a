"""`flames export rft|dpo|step-dpo EXP`: training sets from the student's own samples.

One factory makes the three commands (each lives in its own module, `export_rft`,
`export_dpo`, `export_step_dpo`, as `flames export` expects); they differ only in the
pipeline function they call and, for per-step DPO, the rollout options.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline.datasets.formats import RECORD_FORMATS
from workbench.cli.options import db_option, open_workspace
from workbench.cli.pairs import model_options, model_spec, rollout_options, rollout_plan

KINDS = {
    "rft": "RFT: the student's correct, distinct samples (up to R per problem), for SFT.",
    "dpo": "Plain DPO: a correct solution against an incorrect student sample.",
    "step-dpo": "Per-step DPO: incorrect samples cut after their critical step, from rollouts.",
}


def make_command(kind: str) -> click.Command:
    """The `flames export KIND` command."""

    @click.command(name=kind, help=KINDS[kind])
    @click.argument("experiment")
    @click.option("--arm", default=None, help="An arm of the experiment (default: its base).")
    @click.option(
        "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="File to write."
    )
    @click.option(
        "--format",
        "record_format",
        type=click.Choice(RECORD_FORMATS),
        default=None,
        help="Record format [default: the experiment's datasets.record_format].",
    )
    @click.option("--force", is_flag=True, help="Overwrite an existing file and card.")
    @model_options
    @db_option
    def export(
        experiment: str,
        arm: str | None,
        out_path: str,
        record_format: str | None,
        force: bool,
        db_path: str,
        **options: Any,
    ) -> None:
        _run(kind, experiment, arm, out_path, record_format, force, db_path, options)

    if kind == "step-dpo":
        export = rollout_options(export)
        export = click.option(
            "--prefer-given",
            is_flag=True,
            help="Chosen = a correct student sample of the problem where there is one.",
        )(export)
    return export


def _run(
    kind: str,
    experiment: str,
    arm: str | None,
    out_path: str,
    record_format: str | None,
    force: bool,
    db_path: str,
    options: dict[str, Any],
) -> None:
    from pipeline.datasets import exports
    from pipeline.experiments.lookup import experiment_name, resolve_experiment
    from pipeline.experiments.store import load_experiment
    from pipeline.llm.backend import load_backend
    from workbench.cli.progress import reporter_bar

    db = open_workspace(db_path)
    name = experiment_name(db, resolve_experiment(db, experiment))
    config = load_experiment(db, name)
    spec = model_spec(config.models.student, options)
    target = exports.ExportTarget(Path(out_path), record_format, force, reproduce_command())
    plan = None
    variant = options.pop("variant", None)
    prefer_given = bool(options.pop("prefer_given", False))
    if kind == "step-dpo":
        plan = rollout_plan(exports.step_plan(config), options)
    backend = load_backend(spec)
    try:
        with reporter_bar(f"export {kind}") as report:
            call: Callable[..., exports.ExportResult]
            extra: dict[str, Any] = {}
            if kind == "rft":
                call = exports.export_rft
            elif kind == "dpo":
                call = exports.export_dpo
            else:
                call = exports.export_step_dpo
                extra = {"plan": plan, "variant": variant, "prefer_given": prefer_given}
            result = call(db, name, backend, target, arm=arm, progress=report, **extra)
    finally:
        backend.close()
    _report(result, backend.model_id)


def reproduce_command() -> str:
    """The running command line, rebuilt from its parsed parameters (for the dataset card)."""
    ctx = click.get_current_context()
    words = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value is False or value == ():
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        flag = param.opts[0]
        if value is True:
            words.append(flag)
        elif isinstance(value, tuple):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _report(result: Any, model: str) -> None:
    sampling = result.sampling
    click.echo(
        f"traces from {model}: {sampling.correct} correct, {sampling.incorrect} incorrect, "
        f"{sampling.unverifiable} unverifiable ({result.problems_source})",
        err=True,
    )
    if result.failed:
        click.echo(
            f"error: {result.failed} requests failed, so nothing was written; run the same "
            "command again to retry them.",
            err=True,
        )
        raise SystemExit(1)
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.items()))
    card = result.card_files[1] if result.card_files else None
    click.echo(
        f"wrote {result.examples} examples to {result.file.path} (card: {card})"
        + (f"; left out: {skipped}" if skipped else "")
    )
