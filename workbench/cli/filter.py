"""`flames filter EXPERIMENT`: kept/dropped per strategy under a selection; deletes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from pipeline.experiments.lookup import resolve_experiment
from pipeline.selection import kept_dropped, kept_ids, truncated_counts
from pipeline.solving.scores import score_experiment
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import reporter_bar
from workbench.cli.selection_options import selection_from, selection_options


@click.command(name="filter")
@click.argument("experiment")
@selection_options
@click.option(
    "--rescore",
    is_flag=True,
    help="First recompute answer groups, agreement and labels from the solutions.",
)
@click.option(
    "--ids",
    "ids_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the kept problem ids to this file, one per line.",
)
@db_option
def command(
    experiment: str, rescore: bool, ids_path: str | None, db_path: str, **options: Any
) -> None:
    """Report kept/dropped problems per strategy under a selection (deletes nothing).

    Without flags the selection is the experiment's [filter] config; every flag overrides
    one field of it (a threshold takes 'off' to turn it off).
    """
    db = open_workspace(db_path)
    selection = selection_from(db, experiment, options)
    if rescore:
        with reporter_bar("scoring") as progress:
            summary = score_experiment(db, experiment, progress=progress)
        click.echo(
            f"scored {summary.problems} problems, {summary.solutions} solutions "
            f"({summary.positive} positive, {summary.negative} negative, "
            f"{summary.unverifiable} unverifiable)"
        )
    counts = kept_dropped(db, experiment, selection)
    experiment_id = resolve_experiment(db, experiment)
    table = Table(title=f"{experiment}: {selection.describe()}")
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
    cut = sum(truncated_counts(db, experiment_id, selection).values())
    if cut:
        click.echo(
            f"{cut} more would be kept with --allow-truncated (every solution they could "
            "train on was cut at the token limit)"
        )
    if ids_path is not None:
        ids = kept_ids(db, experiment_id, selection)
        Path(ids_path).write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        click.echo(f"wrote {len(ids)} kept ids to {ids_path}")
