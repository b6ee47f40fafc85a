"""`flames solve`: K teacher solutions per problem, then answers, verdicts and signals."""

from __future__ import annotations

import click

from pipeline.solving.judge import judge
from pipeline.solving.teacher import solve
from workbench.cli.engine_progress import EngineProgress
from workbench.cli.options import db_option, open_workspace


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
    with EngineProgress("solving") as bar:
        report = solve(db, experiment, k=k, limit=limit, on_progress=lambda _, p: bar.update(p))
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
        with EngineProgress("judging") as bar:
            judged = judge(db, experiment, on_progress=lambda _, p: bar.update(p))
        click.echo(
            f"judge: {judged.scored} problems newly scored "
            f"({judged.problems} problems in the experiment)"
        )
