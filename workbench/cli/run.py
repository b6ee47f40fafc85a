"""`flames run`: an experiment end to end, every arm (by default the quickstart, on this CPU)."""

from __future__ import annotations

from contextlib import ExitStack

import click
from rich.markup import escape

from pipeline.flow.graph import STAGES
from pipeline.flow.run import NodeOutcome, ensure_experiment, run_experiment
from pipeline.flow.status import flow_status, status_lines
from pipeline.progress import Fanout, ProgressEvent
from storage.workspace import output_dir
from workbench.cli.options import db_option, open_workspace, stage_locked
from workbench.cli.outcome import exit_if_failures
from workbench.cli.progress import console, reporter_bar

MARKS = {"done": "✓", "reused": "=", "failed": "✗", "blocked": "…", "interrupted": "■"}
# The shared stages write experiment-wide rows: one run of them at a time per experiment.
LOCKED = ("generate", "dedup", "decontaminate", "solve")


@click.command(name="run")
@click.argument("experiment", default="quickstart")
@click.option(
    "--preset",
    default="quickstart",
    show_default=True,
    help="Preset used to create EXPERIMENT when the workspace lacks it.",
)
@click.option(
    "--arm", "arms", multiple=True, help="Only this arm (repeatable); 'base': the base row."
)
@click.option("--until", type=click.Choice(STAGES), help="Stop after this stage.")
@click.option(
    "--from", "from_stage", type=click.Choice(STAGES), help="Redo this stage and every later one."
)
@click.option("--plan", is_flag=True, help="Show each arm's stages and their state; run nothing.")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for blends, datasets and models (default: WORKSPACE-out/ beside the workspace).",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Benchmark files for decontamination and evaluation (default $FLAMES_DATA_DIR).",
)
@db_option
def command(
    experiment: str,
    preset: str,
    arms: tuple[str, ...],
    until: str | None,
    from_stage: str | None,
    plan: bool,
    out_dir: str | None,
    data_dir: str | None,
    db_path: str,
) -> None:
    """Run EXPERIMENT's arms through every stage: generate, dedup, decontaminate, solve,
    select, blend, dataset, train, eval (and the untrained student once, as the base row).

    Arms share every stage they have in common. Without arguments: the quickstart preset
    (embedded SmolLM2-135M, embedded CHAMP seeds and held-out problems) on this CPU. Every
    stage is resumable: run it again to continue where it stopped.
    """
    db = open_workspace(db_path)
    _, notes = ensure_experiment(db, experiment, preset)
    for note in notes:
        click.echo(note)
    if plan:
        for line in status_lines(flow_status(db, experiment)):
            click.echo(line)
        return
    failed = 0

    def count_failures(event: ProgressEvent) -> None:
        nonlocal failed
        failed = max(failed, event.failed)

    def show(outcome: NodeOutcome) -> None:
        mark = MARKS.get(outcome.status, "?")
        text = outcome.error if outcome.error else outcome.summary
        if outcome.status == "reused":
            text = f"done before: {text}"
        console.print(f"{mark} [bold]{escape(outcome.node.label)}[/]: {escape(text or '')}")

    with ExitStack() as locks:
        for stage in LOCKED:
            locks.enter_context(stage_locked(db, stage, experiment))
        with reporter_bar("run") as progress:
            report = run_experiment(
                db,
                experiment,
                arms=arms or None,
                until=until,
                from_stage=from_stage,
                out_dir=out_dir or output_dir(db_path),
                data_dir=data_dir,
                progress=Fanout(progress, count_failures),
                on_node=show,
            )
    for line in status_lines(flow_status(db, experiment)):
        click.echo(line)
    if any(o.status == "interrupted" for o in report.outcomes):
        raise SystemExit(130)
    if report.failed:
        names = ", ".join(o.node.label for o in report.failed[:5])
        click.echo(
            f"{len(report.failed)} stage(s) did not finish: {names} (see the lines above)", err=True
        )
        raise SystemExit(1)
    exit_if_failures(report.failures, "model requests or problems failed (see the lines above)")
    click.echo(f"done. Results: flames results {experiment}   TUI: flames tui --db {db_path}")
