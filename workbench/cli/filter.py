"""`flames filter EXPERIMENT --policy P`: kept/dropped per strategy; deletes nothing."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from pipeline.selection.counts import kept_dropped, make_selection
from pipeline.solving.scores import score_experiment
from storage.database import open_db
from workbench.cli.options import db_option
from workbench.cli.progress import progress_bar


@click.command(name="filter")
@click.argument("experiment")
@click.option(
    "--policy",
    default="first",
    show_default=True,
    help="strict, majority, first, majority_first, reference_verified or none.",
)
@click.option(
    "--judge-min",
    "--min-judge",
    "judge_min",
    type=float,
    default=None,
    help="Keep only problems whose judge score (0..1) is at least this.",
)
@click.option(
    "--max-nn-sim",
    type=float,
    default=None,
    help="Drop problems at least this similar (0..1) to a kept neighbour.",
)
@click.option(
    "--max-decontam",
    type=float,
    default=None,
    help="Drop problems holding at least this share of a benchmark item's n-grams.",
)
@click.option("--drop-exact-dups", is_flag=True, help="Also drop exact duplicates.")
@click.option(
    "--rescore",
    is_flag=True,
    help="First recompute answer groups, agreement and labels from the solutions.",
)
@db_option
def command(
    experiment: str,
    policy: str,
    judge_min: float | None,
    max_nn_sim: float | None,
    max_decontam: float | None,
    drop_exact_dups: bool,
    rescore: bool,
    db_path: str,
) -> None:
    """Report kept/dropped problems per strategy under a selection policy (deletes nothing)."""
    selection = make_selection(
        policy,
        judge_min=judge_min,
        max_nn_sim=max_nn_sim,
        max_decontam=max_decontam,
        drop_exact_dups=drop_exact_dups,
    )
    db = open_db(db_path)
    if rescore:
        with progress_bar("scoring") as update:
            summary = score_experiment(db, experiment, progress=update)
        click.echo(
            f"scored {summary.problems} problems, {summary.solutions} solutions "
            f"({summary.positive} positive, {summary.negative} negative, "
            f"{summary.unverifiable} unverifiable)"
        )
    counts = kept_dropped(db, experiment, selection)
    table = Table(title=f"{experiment}: policy {selection.policy}")
    for column in ("strategy", "kept", "dropped", "total", "kept %"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in counts:
        share = f"{100 * row.kept / row.total:.1f}" if row.total else "-"
        table.add_row(row.strategy, str(row.kept), str(row.dropped), str(row.total), share)
    kept, total = sum(r.kept for r in counts), sum(r.total for r in counts)
    table.add_row(
        "all",
        str(kept),
        str(total - kept),
        str(total),
        f"{100 * kept / total:.1f}" if total else "-",
        style="bold",
    )
    Console().print(table)
