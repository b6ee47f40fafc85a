"""`flames export`: write datasets; `sft` exports a stored blend (or all kept problems)."""

from __future__ import annotations

import json
from typing import Any

import click

from pipeline.datasets import blend as blends
from pipeline.experiments.lookup import resolve_experiment
from pipeline.selection.thresholds import Selection, strategy_counts
from storage.database import open_db
from workbench.cli.options import db_option
from workbench.cli.selection_options import reproduce_command, selection_from, selection_options


@click.group(name="export")
def command() -> None:
    """Export datasets (SFT now; RFT, DPO and per-step DPO come with training)."""


@command.command(name="sft")
@db_option
@click.option("--experiment", "-e", required=True, help="Experiment name.")
@click.option("--blend", "blend_name", help="A blend stored by `flames blend` or the TUI.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="JSONL to write.")
@click.option(
    "--format", "fmt", type=click.Choice(blends.FORMATS), default="messages", show_default=True
)
@selection_options
def sft(
    db_path: str, experiment: str, blend_name: str | None, out: str, fmt: str, **options: Any
) -> None:
    """Problem + chosen solution pairs for SFT, with a dataset card next to the file."""
    db = open_db(db_path)
    experiment_id = resolve_experiment(db, experiment)
    selection = selection_from(options)
    if blend_name:
        row = db.execute(
            "SELECT ratios_json, total, filters_json FROM blends "
            "WHERE experiment_id = ? AND name = ?",
            [experiment_id, blend_name],
        ).fetchone()
        if row is None:
            raise click.BadParameter(
                f"no blend '{blend_name}' in {experiment}: make one with `flames blend --name`",
                param_hint="--blend",
            )
        ratios, total = json.loads(row[0]), int(row[1])
        selection = Selection(**json.loads(row[2]))
    else:
        kept = strategy_counts(db, experiment_id, selection)
        ratios = {name: float(k) for name, k, _ in kept if k}
        total = sum(int(v) for v in ratios.values())
        if not ratios:
            raise click.ClickException("no kept problems under this selection: loosen it")
    result = blends.export_blend(
        db,
        experiment_id,
        ratios,
        total,
        selection,
        out,
        fmt=fmt,
        name=blend_name or "all-kept",
        command=reproduce_command(
            [
                "export",
                "sft",
                "--db",
                db_path,
                "--experiment",
                experiment,
                *(["--blend", blend_name] if blend_name else []),
                "--out",
                out,
                "--format",
                fmt,
            ],
            selection,
        ),
    )
    click.echo(
        f"wrote {sum(result.written.values())} examples to {result.path} (card: {result.card_md})"
    )
