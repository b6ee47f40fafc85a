"""`flames results EXP`: the arms x benchmarks table with deltas, intervals and significance."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.errors import InputError
from pipeline.evaluation import Score
from pipeline.reports import FORMATS, breakdowns, render, results_table
from workbench.cli.options import db_option, open_workspace


@click.command(name="results")
@click.argument("experiment")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--checkpoint",
    type=click.Choice(["last", "best"]),
    default=None,
    help="Rows of arms evaluated at several checkpoints: the last (always shown), and with "
    "`best` also the best of K on the selection benchmarks (default: the config's).",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=100),
    default=None,
    help="Bootstrap resamples (default: the config's evaluation.resamples, 2,000).",
)
@click.option(
    "--breakdown",
    "breakdown",
    default=None,
    metavar="BENCH",
    help="Also show BENCH's accuracy per subject, level or type for every row.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the table to this file instead of the terminal.",
)
@db_option
def command(
    experiment: str,
    fmt: str,
    checkpoint: str | None,
    resamples: int | None,
    breakdown: str | None,
    out: str | None,
    db_path: str,
) -> None:
    """The results of EXPERIMENT: rows are the base student and the arms, columns the benchmarks.

    Each cell is the accuracy (%) with its delta against the baseline arm (else the base
    student) on the same items, marked * (p < 0.05) or ** (p < 0.01) by a paired bootstrap.
    `--format json|csv` add the Wilson 95% interval, the p-value and the item counts.
    """
    db = open_workspace(db_path)
    table = results_table(db, experiment, checkpoint=checkpoint, resamples=resamples)
    text = render(table, fmt)
    if breakdown is not None:
        if breakdown not in table.benchmarks:
            raise InputError(
                f"--breakdown {breakdown}: not in this table "
                f"(benchmarks: {', '.join(table.benchmarks) or 'none yet'})"
            )
        text += "\n\n" + _breakdown_text(breakdowns(db, table, breakdown), breakdown)
    if out is None:
        click.echo(text)
        return
    Path(out).write_text(text + "\n", encoding="utf-8")
    click.echo(f"written to {out}")


def _breakdown_text(groups: dict[str, dict[str, dict[str, Score]]], benchmark: str) -> str:
    lines = [f"{benchmark} by group: accuracy % (n)"]
    for label, kinds in groups.items():
        for kind, scores in kinds.items():
            parts = [
                f"{value} {100 * score.accuracy:.1f} ({score.n})" for value, score in scores.items()
            ]
            lines.append(f"  {label} {kind.removeprefix('by_')}: " + "; ".join(parts))
    return "\n".join(lines)
