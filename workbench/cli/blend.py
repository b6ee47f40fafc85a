"""`flames blend`: ratios per strategy and a total -> available vs needed; optional export."""

from __future__ import annotations

from typing import Any

import click

from pipeline.datasets import blend as blends
from pipeline.experiments.lookup import resolve_experiment
from storage.database import open_db
from workbench.cli.options import db_option
from workbench.cli.selection_options import (
    parse_ratios,
    reproduce_command,
    selection_from,
    selection_options,
)


@click.command(name="blend")
@db_option
@click.option("--experiment", "-e", required=True, help="Experiment name.")
@click.option("--preset", type=click.Choice(["flames"]), help="FLAMES blend 50/20/20/10.")
@click.option(
    "--ratio",
    "ratios",
    multiple=True,
    metavar="STRATEGY=SHARE",
    help="A strategy's share (repeat); shares are normalised.",
)
@click.option("--total", type=int, required=True, help="Number of training examples.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the blend to this JSONL.")
@click.option(
    "--format", "fmt", type=click.Choice(blends.FORMATS), default="messages", show_default=True
)
@click.option("--name", default="blend", show_default=True, help="Name stored for this blend.")
@selection_options
def command(
    db_path: str,
    experiment: str,
    preset: str | None,
    ratios: tuple[str, ...],
    total: int,
    out: str | None,
    fmt: str,
    name: str,
    **options: Any,
) -> None:
    """Blend strategies into a training set."""
    db = open_db(db_path)
    experiment_id = resolve_experiment(db, experiment)
    shares = dict(blends.FLAMES_PRESET) if preset else {}
    shares.update(parse_ratios(ratios))
    if not shares:
        raise click.UsageError("give --preset flames or at least one --ratio STRATEGY=SHARE")
    selection = selection_from(options)
    plan = blends.plan_blend(db, experiment_id, shares, total, selection)
    click.echo(f"{'strategy':<24} {'ratio':>6} {'needed':>8} {'available':>10}")
    for line in plan:
        flag = f"  SHORT by {line.short}" if line.short else ""
        click.echo(
            f"{line.strategy:<24} {line.ratio:>6.0%} {line.needed:>8} {line.available:>10}{flag}"
        )
    for warning in blends.warnings(plan):
        click.echo(f"warning: {warning}", err=True)
    if out:
        result = blends.export_blend(
            db,
            experiment_id,
            shares,
            total,
            selection,
            out,
            fmt=fmt,
            name=name,
            command=reproduce_command(
                [
                    "blend",
                    "--db",
                    db_path,
                    "--experiment",
                    experiment,
                    *[f"--ratio={n}={v:g}" for n, v in shares.items()],
                    "--total",
                    str(total),
                    "--out",
                    out,
                    "--format",
                    fmt,
                    "--name",
                    name,
                ],
                selection,
            ),
        )
        click.echo(
            f"wrote {sum(result.written.values())} examples to {result.path} "
            f"(card: {result.card_md})"
        )
