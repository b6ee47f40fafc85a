"""`flames decontaminate FILE.jsonl --against BENCH[,BENCH...]` or `... EXPERIMENT`.

An experiment is checked against its config's `filter.decontam_against` with its
`filter.ngram` and `filter.decontam_max` unless flags say otherwise, so the TUI and a job
run it with no extra flags.
"""

from __future__ import annotations

import click

from pipeline.benchmarks import DATA_DIR_ENV, load_benchmarks
from pipeline.decontam.contamination import (
    DecontamSummary,
    decontaminate_experiment,
    decontaminate_file,
)
from pipeline.decontam.index import NgramIndex
from pipeline.dedup.records import is_file_source
from pipeline.errors import ConfigError
from pipeline.experiments.store import load_experiment
from workbench.cli.options import db_option, open_workspace, stage_locked
from workbench.cli.progress import reporter_bar


def print_summary(summary: DecontamSummary, containment: float) -> None:
    """Totals and per-benchmark counts."""
    click.echo(
        f"{summary.benchmark_items} benchmark items ({summary.short_items} shorter than "
        "n words, matched by exact containment)"
    )
    click.echo(
        f"{summary.contaminated} of {summary.problems} problems contaminated "
        f"(overlap >= {containment:g})"
    )
    for name, count in summary.by_benchmark.items():
        click.echo(f"  {name}: {count}")
    click.echo(f"done in {summary.seconds:.1f} s")


@click.command(name="decontaminate")
@click.argument("source")
@click.option(
    "--against",
    default=None,
    help="Benchmarks, comma-separated: JSONL paths, hf:ORG/NAME[:CONFIG]:SPLIT, or "
    "short names under --data-dir (e.g. gsm8k -> DIR/gsm8k/test.jsonl). Required for a "
    "file; for an experiment, default: its filter.decontam_against.",
)
@click.option(
    "--ngram",
    type=click.IntRange(min=1),
    default=None,
    help="Word n-gram size (default: the experiment's filter.ngram; 8 for a file).",
)
@click.option(
    "--containment",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="Flag a problem holding at least this share of an item's n-grams (default: the "
    "experiment's filter.decontam_max; 0.95 for a file).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File mode (required there): the input lines plus contaminated, overlap, match.",
)
@click.option(
    "--field",
    "text_field",
    default=None,
    help="The text field (default: question, problem or text).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    envvar=DATA_DIR_ENV,
    default=None,
    help=f"Where benchmark files live, e.g. DIR/gsm8k/test.jsonl (env {DATA_DIR_ENV}; "
    "default for an experiment: its evaluation.data_dir).",
)
@db_option
def command(
    source: str,
    against: str | None,
    ngram: int | None,
    containment: float | None,
    out: str | None,
    text_field: str | None,
    data_dir: str | None,
    db_path: str,
) -> None:
    """Flag problems in SOURCE (a JSONL file or an experiment) that overlap benchmark items.

    The FLAMES rule: a problem is contaminated when it contains at least
    --containment of the distinct word n-grams of some benchmark item (on
    normalised text). Items shorter than n words are matched by exact containment.
    For an experiment the overlap and match are stored, so the threshold is a query;
    its benchmarks and data dir default to the experiment's config.
    """
    if is_file_source(source):
        if out is None:
            raise click.UsageError("give --out OUT.jsonl for a file input")
        if against is None:
            raise click.UsageError("give --against BENCH[,BENCH...] for a file input")
        containment = 0.95 if containment is None else containment
        specs = [s for s in against.split(",") if s.strip()]
        index = NgramIndex(load_benchmarks(specs, data_dir), n=ngram or 8)
        with reporter_bar("decontaminate") as progress:
            summary = decontaminate_file(source, index, out, containment, text_field, progress)
        print_summary(summary, containment)
        click.echo(f"written to {out}")
        return
    if out or text_field:
        raise click.UsageError(f"'{source}' is not a file: --out and --field apply to files only")
    db = open_workspace(db_path)
    config = load_experiment(db, source).filter
    specs = (
        [s for s in against.split(",") if s.strip()]
        if against is not None
        else list(config.decontam_against)
    )
    if not specs:
        raise ConfigError(
            f"experiment '{source}': filter.decontam_against is empty; name benchmarks "
            "there or give --against"
        )
    containment = config.decontam_max if containment is None else containment
    data_dir = data_dir or load_experiment(db, source).evaluation.data_dir
    index = NgramIndex(load_benchmarks(specs, data_dir), n=ngram or config.ngram)
    with (
        stage_locked(db, "decontaminate", source),
        reporter_bar("decontaminate") as progress,
    ):
        summary = decontaminate_experiment(db, source, index, containment, specs, progress)
    print_summary(summary, containment)
