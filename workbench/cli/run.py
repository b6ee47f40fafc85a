"""`flames run`: an experiment end to end (by default the quickstart on the embedded model)."""

from __future__ import annotations

from contextlib import ExitStack

import click
from rich.markup import escape

from pipeline.flow.run import ensure_experiment, run_experiment
from pipeline.progress import Fanout, ProgressEvent
from storage.workspace import output_dir
from workbench.cli.options import db_option, open_workspace, stage_locked
from workbench.cli.outcome import exit_if_failures
from workbench.cli.progress import console, reporter_bar


@click.command(name="run")
@click.argument("experiment", default="quickstart")
@click.option(
    "--preset",
    default="quickstart",
    show_default=True,
    help="Preset used to create EXPERIMENT when the workspace lacks it.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the exported blend (default: WORKSPACE-out/ beside the workspace file).",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Benchmarks for decontamination: NAME/test.jsonl under this folder "
    "(default $FLAMES_DATA_DIR).",
)
@db_option
def command(
    experiment: str, preset: str, out_dir: str | None, data_dir: str | None, db_path: str
) -> None:
    """Generate, dedup, decontaminate, solve, select and blend EXPERIMENT.

    Without arguments: the quickstart preset (embedded SmolLM2-135M, CHAMP seeds, a
    tiny budget) on this CPU. Every stage is resumable: run it again to continue.
    """
    db = open_workspace(db_path)
    _, notes = ensure_experiment(db, experiment, preset)
    for note in notes:
        click.echo(note)
    failed = 0

    def count_failures(event: ProgressEvent) -> None:
        nonlocal failed
        failed = event.failed

    def show(stage: str, summary: str) -> None:
        console.print(f"[bold]{stage}[/]: {escape(summary)}")

    locks = ExitStack()
    with locks:
        for stage in ("generate", "dedup", "decontaminate", "solve"):
            locks.enter_context(stage_locked(db, stage, experiment))
        with reporter_bar("run") as progress:
            run_experiment(
                db,
                experiment,
                out_dir=out_dir or output_dir(db_path),
                data_dir=data_dir,
                progress=Fanout(progress, count_failures),
                on_summary=show,
            )
    exit_if_failures(failed, "model requests or problems failed (see the lines above)")
    click.echo(
        f"done. Inspect it with: flames tui --db {db_path}   "
        f"(or flames experiment show {experiment})"
    )
