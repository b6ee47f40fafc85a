"""`flames solve`: K teacher solutions per problem, then answers, verdicts and signals."""

from __future__ import annotations

import click

from pipeline.solving.judge import judge
from pipeline.solving.teacher import solve
from workbench.cli.options import db_option, open_workspace, retry_options, stage_locked
from workbench.cli.outcome import exit_if_failures
from workbench.cli.progress import reporter_bar

MAX_K = 1_000  # solutions per problem; the paper samples 3 (a typo of 10^8 must not hang)


@click.command(name="solve")
@click.argument("experiment")
@click.option(
    "--k",
    type=click.IntRange(min=1, max=MAX_K),
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
@retry_options
@db_option
def command(
    experiment: str,
    k: int | None,
    limit: int | None,
    with_judge: bool,
    max_attempts: int,
    retry_failed: bool,
    db_path: str,
) -> None:
    """Sample teacher solutions for EXPERIMENT's problems and store their signals.

    Resumable: stored solutions are not asked for again and finished model calls come
    from the request cache; Ctrl-C keeps everything finished so far.
    """
    db = open_workspace(db_path)
    stages = ["solve", "score", *(["judge"] if with_judge else [])]
    with stage_locked(db, "solve", experiment), reporter_bar("solve", stages=stages) as progress:
        report = solve(
            db,
            experiment,
            k=k,
            limit=limit,
            progress=progress,
            max_attempts=max_attempts,
            retry_failed=retry_failed,
        )
        judged = (
            judge(
                db,
                experiment,
                progress=progress,
                max_attempts=max_attempts,
                retry_failed=retry_failed,
            )
            if with_judge
            else None
        )
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
    if judged is not None:
        click.echo(
            f"judge: {judged.scored} problems newly scored "
            f"({judged.problems} problems in the experiment)"
        )
    exit_if_failures(
        report.failed, f"solution requests given up after {max_attempts} tries this run"
    )
