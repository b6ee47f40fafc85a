"""The `flames` entry point: a lazily loaded command group.

Each command group lives in its own module under `workbench.cli` and exposes a
click command or group named `command`. Modules are imported only when their
command runs, so `flames --help` and light commands never pay for torch.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from pipeline.errors import FlamesError
from storage.database import StorageError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("workbench.cli.init", "Create (or upgrade) a workspace database."),
    "seeds": ("workbench.cli.seeds", "Import, list and show seed sets."),
    "experiment": ("workbench.cli.experiment", "Create, show and export experiments."),
    "strategies": (
        "workbench.cli.strategies",
        "List, export and import strategy prompt templates.",
    ),
    "llm": ("workbench.cli.llm", "Run prompts through a model with the resumable engine."),
    "generate": ("workbench.cli.generate", "Generate problems with an experiment's strategies."),
    "solve": ("workbench.cli.solve", "Sample teacher solutions for generated problems."),
    "filter": ("workbench.cli.filter", "Report kept/dropped problems under a selection policy."),
    "reward": ("workbench.cli.reward", "Score teacher solutions with the reward model."),
    "blend": ("workbench.cli.blend", "Blend strategies into a training set."),
    "export": ("workbench.cli.export", "Export datasets (SFT, RFT, DPO, per-step DPO)."),
    "train": ("workbench.cli.train", "Train a student (SFT/DPO, LoRA or full) through TRL."),
    "grade": ("workbench.cli.grade", "Grade predicted answers against gold answers."),
    "pairs": ("workbench.cli.pairs", "Per-step DPO pairs from a file of incorrect traces."),
    "dedup": ("workbench.cli.dedup", "Find exact and near-duplicate problems."),
    "decontaminate": ("workbench.cli.decontaminate", "Flag problems that overlap benchmarks."),
    "eval": ("workbench.cli.eval", "Evaluate a model on named math benchmarks."),
    "results": ("workbench.cli.results", "The arms x benchmarks table of an experiment."),
    "tui": ("workbench.cli.tui", "Open the terminal workbench."),
    "run": ("workbench.cli.run", "Run an experiment's arms end to end (default: the quickstart)."),
    "jobs": ("workbench.cli.jobs", "Start, list, follow, cancel and resume background jobs."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, help_text = COMMANDS[cmd_name]
        module = importlib.import_module(module_name)
        command: click.Command = module.command
        if command.help is None:
            command.help = help_text
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every module (and torch with them).
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flames-workbench", prog_name="flames")
def cli() -> None:
    """FLAMES Workbench: synthetic math data experiments, from seeds to evaluation.

    Every command takes --db PATH (default ./flames.db, or $FLAMES_DB).
    """


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user-facing errors print one short message and exit 1.

    Exit codes: 0 done, 1 an error the message explains, 2 a usage error, 3 finished with
    failures (see `workbench.cli.outcome`), 130 interrupted (finished work is kept).
    """
    if os.environ.get("FLAMES_JOB_ID"):  # run by a job's runner: follow it, report to its row
        from workbench.cli.job_progress import enter_job_mode

        enter_job_mode()
    try:
        cli.main(args=argv, prog_name="flames", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (FlamesError, StorageError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo(
            "Interrupted: finished work is saved; run the same command again to resume.", err=True
        )
        sys.exit(130)
    except SystemExit:
        raise
