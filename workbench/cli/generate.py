"""`flames generate`: run an experiment's strategies and report what they produced."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from pipeline.generation.generate import GenerationProgress, StrategyReport, generate
from workbench.cli.options import db_option, open_workspace

console = Console(stderr=True)


@click.command(name="generate")
@click.argument("experiment")
@click.option("--strategy", "strategy", default=None, help="Run only this strategy.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most N problems per strategy in this run (a prefix of the plan).",
)
@click.option(
    "--reparse",
    is_flag=True,
    help="Run stored problems again and update them in place: with unchanged templates the "
    "model is not called (cached), so changed parsers and checks are re-applied.",
)
@db_option
def command(
    experiment: str, strategy: str | None, limit: int | None, reparse: bool, db_path: str
) -> None:
    """Generate problems with EXPERIMENT's enabled strategies.

    Resumable: slots already stored are skipped and finished model calls come from
    the request cache, so running the same command again continues where it stopped.
    Prints per strategy: requested, produced, and rejected by reason.
    """
    db = open_workspace(db_path)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def update(event: GenerationProgress) -> None:
            task = tasks.get(event.strategy)
            if task is None:
                task = progress.add_task(event.strategy, total=event.slots_total, detail="")
                tasks[event.strategy] = task
            detail = event.stage or ""
            if event.requests is not None and event.requests.total:
                r = event.requests
                detail += f"  requests {r.done}/{r.total}"
                if r.tokens_per_s:
                    detail += f", {r.tokens_per_s:.0f} tok/s"
            progress.update(task, completed=event.slots_done, detail=detail)

        reports = generate(
            db, experiment, strategy=strategy, limit=limit, on_progress=update, reparse=reparse
        )
    print_reports(reports)


def print_reports(reports: list[StrategyReport]) -> None:
    """One line per strategy, then its rejection reasons."""
    width = max([len(r.strategy) for r in reports] + [8])
    click.echo(
        f"{'strategy':<{width}}  {'requested':>9}  {'produced':>8}  {'rejected':>8}  {'failed':>6}"
    )
    for r in reports:
        click.echo(
            f"{r.strategy:<{width}}  {r.requested:>9}  {r.produced:>8}  "
            f"{r.rejected_total:>8}  {r.failed:>6}"
        )
        for reason, count in sorted(r.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"{'':<{width}}    rejected {count} x {reason}")
    untagged = sum(n for r in reports for k, n in r.rejected.items() if k.startswith("missing_"))
    if untagged and untagged * 2 >= sum(r.rejected_total for r in reports):
        click.echo(
            "hint: most replies lacked the tagged sections the prompts ask for (small models "
            "often ignore them); use a larger generator, or set `accept_untagged = true` in a "
            "strategy's params to take a tag-free reply whole"
        )
    resumed = sum(r.resumed for r in reports)
    if resumed:
        click.echo(f"({resumed} problems were already stored by an earlier run)")
    failed = sum(r.failed for r in reports)
    if failed:
        click.echo(
            f"{failed} problems failed on a model error; run the command again to retry them"
        )
