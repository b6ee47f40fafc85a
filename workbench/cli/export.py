"""`flames export`: training datasets. `sft` lives here; other kinds are added by module.

To add a dataset kind, write a module exposing a click command named `command` and add one
line to `SUBCOMMANDS`; it is imported only when that subcommand runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from pipeline.datasets import blend as blends
from pipeline.experiments.lookup import resolve_experiment
from pipeline.experiments.store import load_experiment
from storage.workspace import output_dir
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import reporter_bar
from workbench.cli.selection_options import selection_from, selection_options

# name -> (module exposing `command`, one-line help): export kinds defined in other modules.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "rft": ("workbench.cli.export_rft", "RFT: the student's correct, distinct samples."),
    "dpo": ("workbench.cli.export_dpo", "Plain DPO: correct vs incorrect student samples."),
    "step-dpo": ("workbench.cli.export_step_dpo", "Per-step DPO pairs from rollouts."),
}


class ExportGroup(click.Group):
    """The `export` group: `sft` here, the others imported from `SUBCOMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, help_text = SUBCOMMANDS[cmd_name]
            found: click.Command = importlib.import_module(module_name).command
            if found.help is None:
                found.help = help_text
            return found
        return super().get_command(ctx, cmd_name)


@click.group(name="export", cls=ExportGroup)
def command() -> None:
    """Export training datasets (JSONL or Parquet, each with a dataset card)."""


def default_out(db_path: str, experiment: str, kind: str, suffix: str = ".jsonl") -> Path:
    """Where an export goes without --out: the workspace's output folder (beside the workspace
    file, ignored by git), named by experiment."""
    folder = output_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{experiment}-{kind}{suffix}"


@command.command(name="sft")
@db_option
@click.option("--experiment", "-e", required=True, help="Experiment name.")
@click.option("--blend", "blend_name", help="A blend stored by `flames blend` or the TUI.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (.jsonl or .parquet). [default: EXPERIMENT-sft.jsonl in the "
    "workspace's output folder, e.g. flames-out/]",
)
@click.option(
    "--format",
    "record_format",
    type=click.Choice(blends.FORMATS),
    default="messages",
    show_default=True,
    help="Record format: chat messages, or prompt/completion strings.",
)
@click.option("--force", is_flag=True, help="Overwrite the file and its card if they exist.")
@selection_options
def sft(
    db_path: str,
    experiment: str,
    blend_name: str | None,
    out: str | None,
    record_format: str,
    force: bool,
    **options: Any,
) -> None:
    """Problem + training solution pairs for SFT, with a dataset card next to the file.

    Without --blend: every problem the selection keeps (the experiment's [filter] unless
    flags say otherwise). With --blend: that stored blend's ratios, total and selection.
    """
    db = open_workspace(db_path)
    experiment_id = resolve_experiment(db, experiment)
    arm = options.get("arm")
    selection = selection_from(db, experiment, options)
    if blend_name:
        stored = blends.load_blend(db, experiment_id, blend_name)
        if stored is None:
            raise click.BadParameter(
                f"no blend '{blend_name}' in {experiment}: make one with `flames blend --name`",
                param_hint="--blend",
            )
        ratios, total, selection = stored
    else:
        ratios, total = blends.all_kept_ratios(db, experiment_id, selection)
    path = Path(out) if out else default_out(db_path, experiment, "sft")
    words = ["flames", "export", "sft", "--db", db_path, "--experiment", experiment]
    words += ["--arm", arm] if arm else []
    words += ["--blend", blend_name] if blend_name else []
    words += ["--out", str(path), "--format", record_format, *selection.cli_args()]
    with reporter_bar("export") as progress:
        result = blends.export_blend(
            db,
            experiment_id,
            ratios,
            total,
            selection,
            path,
            record_format=record_format,
            overwrite=force,
            name=blend_name or path.stem,
            command=" ".join(_quoted(words)),
            arm=arm,
            models=blends.config_models(load_experiment(db, experiment), selection),
            progress=progress,
        )
    click.echo(
        f"wrote {blends.examples(result.total_written)} to {result.path} (card: {result.card_md})"
    )
    if result.skipped_truncated:
        click.echo(
            f"skipped {blends.examples(result.skipped_truncated, 'problem')} whose solutions "
            "were all cut at the token limit (--allow-truncated keeps them)"
        )


def _quoted(words: list[str]) -> list[str]:
    import shlex

    return [shlex.quote(word) for word in words]
