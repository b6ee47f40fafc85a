"""`flames generate`: run an experiment's strategies and report what they generated."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.experiments.store import load_experiment
from pipeline.generation.generate import StrategyReport, generate, planned_strategies
from workbench.cli.options import db_option, open_workspace, retry_options, stage_locked
from workbench.cli.outcome import exit_if_failures
from workbench.cli.progress import reporter_bar


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
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where named benchmarks live, for budget_mode = 'kept' (default: $FLAMES_DATA_DIR).",
)
@retry_options
@db_option
def command(
    experiment: str,
    strategy: str | None,
    limit: int | None,
    reparse: bool,
    data_dir: Path | None,
    max_attempts: int,
    retry_failed: bool,
    db_path: str,
) -> None:
    """Generate problems with EXPERIMENT's enabled strategies.

    Resumable: slots already stored are skipped and finished model calls come from
    the request cache, so running the same command again continues where it stopped.
    Prints per strategy: requested, generated, and rejected by reason; for a strategy with
    budget_mode = "kept", the rounds it took to reach its target of surviving problems.
    """
    db = open_workspace(db_path)
    # One bar (and one job progress) over every strategy, not one strategy's bar at a time.
    planned = planned_strategies(load_experiment(db, experiment), strategy)
    stages = [f"generate {name}" for name in planned]
    with (
        stage_locked(db, "generate", experiment),
        reporter_bar("generate", stages=stages) as progress,
    ):
        reports = generate(
            db,
            experiment,
            strategy=strategy,
            limit=limit,
            progress=progress,
            reparse=reparse,
            data_dir=data_dir,
            max_attempts=max_attempts,
            retry_failed=retry_failed,
        )
    print_reports(reports)
    exit_if_failures(
        sum(r.failed for r in reports),
        f"problems failed on a model error (requests given up after {max_attempts} tries)",
    )


def print_reports(reports: list[StrategyReport]) -> None:
    """One line per strategy, then its rejection reasons."""
    width = max([len(r.strategy) for r in reports] + [8])
    click.echo(
        f"{'strategy':<{width}}  {'requested':>9}  {'generated':>9}  {'rejected':>8}  {'failed':>6}"
    )
    for r in reports:
        click.echo(
            f"{r.strategy:<{width}}  {r.requested:>9}  {r.produced:>9}  "
            f"{r.rejected_total:>8}  {r.failed:>6}"
        )
        for reason, count in sorted(r.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"{'':<{width}}    rejected {count} x {reason}")
        _print_rounds(r, width)
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


def _print_rounds(report: StrategyReport, width: int) -> None:
    """Fill-to-target: the yield of each round and whether the target was reached."""
    if report.target is None:
        return
    for r in report.rounds:
        click.echo(
            f"{'':<{width}}    round {r.round}: tried {r.attempts}, parsed {r.parsed}, "
            f"kept {r.kept} (yield {r.yield_rate:.0%}), {r.kept_total}/{report.target} kept"
        )
    if report.short:
        click.echo(
            f"{'':<{width}}    stopped at the attempts cap with {report.kept}/{report.target} "
            "unique, clean problems: raise attempts_cap or fix what the rejections name"
        )
