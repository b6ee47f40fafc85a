"""`flames run`: an experiment end to end (by default the quickstart on the embedded model)."""

from __future__ import annotations

import click

from pipeline.flow.run import StageEvent, ensure_experiment, run_experiment
from storage.workspace import output_dir
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import console


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
    with console.status("starting") as status:

        def show(event: StageEvent) -> None:
            if event.summary is not None:
                console.print(f"[bold]{event.stage}[/]: {event.summary}")
            elif event.total:
                status.update(f"{event.stage}: {event.done}/{event.total}")
            else:
                status.update(f"{event.stage} ...")

        run_experiment(
            db,
            experiment,
            out_dir=out_dir or output_dir(db_path),
            data_dir=data_dir,
            on_event=show,
        )
    click.echo(
        f"done. Inspect it with: flames tui --db {db_path}   "
        f"(or flames experiment show {experiment})"
    )
