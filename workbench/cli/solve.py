"""`flames solve`: K teacher solutions per problem, then answers, verdicts and signals."""

from __future__ import annotations

import click

from pipeline.llm.engine import Progress
from pipeline.solving import judge, solve
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import progress_bar


@click.command(name="solve")
@click.argument("experiment")
@click.option(
    "--k",
    type=click.IntRange(min=1),
    default=None,
    help="Solutions per problem (default: the experiment's solve.k).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Solve at most the first N problems."
)
@click.option(
    "--judge/--no-judge",
    "with_judge",
    default=False,
    show_default=True,
    help="Also ask the judge model for a solvability score per problem.",
)
@db_option
def command(
    experiment: str, k: int | None, limit: int | None, with_judge: bool, db_path: str
) -> None:
    """Sample teacher solutions for EXPERIMENT's problems and store their signals.

    Resumable: stored solutions are not asked for again and finished model calls come
    from the request cache; Ctrl-C keeps everything finished so far.
    """
    db = open_workspace(db_path)
    with progress_bar("solving") as update:

        def relay(stage: str, progress: Progress) -> None:
            update(progress.done, progress.total)

        report = solve(db, experiment, k=k, limit=limit, on_progress=relay)
    click.echo(
        f"{report.problems} problems: {report.stored} new solutions, "
        f"{report.already} already stored, {report.failed} failed"
    )
    if report.scores is not None:
        s = report.scores
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(s.by_rule.items()))
        click.echo(
            f"verdicts: {s.positive} positive, {s.negative} negative, "
            f"{s.unverifiable} unverifiable; answers by rule: {rules or 'none'}"
        )
    if report.failed:
        click.echo("run the same command again to retry the failed requests")
    if with_judge:
        with progress_bar("judging") as update:
            judged = judge(db, experiment, on_progress=lambda stage, p: update(p.done, p.total))
        click.echo(
            f"judge: {judged.scored} problems newly scored "
            f"({judged.problems} problems in the experiment)"
        )
