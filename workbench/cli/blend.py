"""`flames blend`: ratios per strategy and a total -> available vs needed; optional export."""

from __future__ import annotations

from typing import Any

import click

from pipeline.datasets import blend as blends
from pipeline.experiments.lookup import resolve_experiment
from pipeline.experiments.store import load_experiment
from workbench.cli.options import db_option, open_workspace
from workbench.cli.selection_options import parse_ratios, selection_from, selection_options


@click.command(name="blend")
@db_option
@click.option("--experiment", "-e", required=True, help="Experiment name.")
@click.option("--preset", type=click.Choice(["flames"]), help="FLAMES blend 50/20/20/10.")
@click.option(
    "--ratio",
    "ratios",
    multiple=True,
    metavar="STRATEGY=SHARE",
    help="A strategy's share (repeat); shares are normalised. [default: the config's blend.ratios]",
)
@click.option(
    "--total",
    type=click.IntRange(min=0),
    default=None,
    help="Number of training examples. [default: the config's blend.total]",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the blend here (.jsonl or .parquet) with a dataset card next to it.",
)
@click.option(
    "--format",
    "record_format",
    type=click.Choice(blends.FORMATS),
    default="messages",
    show_default=True,
    help="Record format: chat messages, or prompt/completion strings.",
)
@click.option("--name", default="blend", show_default=True, help="Name stored for this blend.")
@click.option("--force", is_flag=True, help="Overwrite --out and its card if they exist.")
@selection_options
def command(
    db_path: str,
    experiment: str,
    preset: str | None,
    ratios: tuple[str, ...],
    total: int | None,
    out: str | None,
    record_format: str,
    name: str,
    force: bool,
    **options: Any,
) -> None:
    """Blend strategies into a training set (defaults: the experiment's [blend] and [filter])."""
    db = open_workspace(db_path)
    experiment_id = resolve_experiment(db, experiment)
    config = load_experiment(db, experiment)
    arm = options.get("arm")
    selection = selection_from(db, experiment, options)
    shares = dict(blends.FLAMES_PRESET) if preset else {}
    shares.update(parse_ratios(ratios))
    if not shares:
        shares = dict(config.blend.ratios)
    if not shares:
        raise click.UsageError(
            "give --preset flames or --ratio STRATEGY=SHARE (the config has no blend.ratios)"
        )
    total = config.blend.total if total is None else total
    if total <= 0:
        raise click.UsageError("give --total N (the config's blend.total is 0)")
    plan = blends.plan_blend(db, experiment_id, shares, total, selection)
    click.echo(f"selection: {selection.describe()}")
    click.echo(f"{'strategy':<24} {'ratio':>6} {'needed':>8} {'available':>10}")
    for line in plan:
        flag = f"  SHORT by {line.short}" if line.short else ""
        click.echo(
            f"{line.strategy:<24} {line.ratio:>6.0%} {line.needed:>8} {line.available:>10}{flag}"
        )
    for warning in blends.warnings(plan):
        click.echo(f"warning: {warning}", err=True)
    if not out:
        return
    command_line = blends.blend_command(
        db_path=db_path,
        experiment=experiment,
        ratios=shares,
        total=total,
        selection=selection,
        out=out,
        record_format=record_format,
        name=name,
        arm=arm,
    )
    result = blends.export_blend(
        db,
        experiment_id,
        shares,
        total,
        selection,
        out,
        record_format=record_format,
        overwrite=force,
        name=name,
        command=command_line,
        arm=arm,
        models=blends.config_models(config, selection),
    )
    click.echo(
        f"wrote {blends.examples(result.total_written)} to {result.path} (card: {result.card_md})"
    )
