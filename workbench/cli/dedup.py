"""`flames dedup FILE.jsonl|EXPERIMENT`: exact and near-duplicate problems."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console

from pipeline.dedup.files import DedupSummary, dedup_file
from pipeline.dedup.records import is_file_source
from pipeline.dedup.scoring import DEFAULT_SCORER, SCORERS
from pipeline.dedup.search import SearchOptions
from workbench.cli.options import db_option, open_workspace, stage_locked
from workbench.cli.progress import reporter_bar

if TYPE_CHECKING:
    from sqlite_utils import Database

console = Console(stderr=True)


def print_summary(summary: DedupSummary, threshold: float) -> None:
    """What was found, in a few lines."""
    click.echo(
        f"{summary.items} problems ({summary.empty} empty), {summary.exact_dups} exact duplicates"
    )
    click.echo(
        f"{summary.pairs} pairs with similarity >= {threshold:g}; "
        f"{summary.clusters} clusters, {summary.clustered_items} problems in clusters of 2+"
    )
    click.echo(f"done in {summary.seconds:.1f} s")


FILE_THRESHOLD = 0.9


def experiment_threshold(db: Database, experiment: str) -> float:
    """The threshold `flames run` stores an experiment's pairs at, so the TUI's `d` agrees."""
    from pipeline.experiments.store import load_experiment
    from pipeline.flow.graph import arm_configs, dedup_threshold

    return dedup_threshold(arm_configs(load_experiment(db, experiment)))


@click.command(name="dedup")
@click.argument("source")
@click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="Pairs with similarity >= T are near-duplicates. Default: 0.9 for a file; for an "
    "experiment, what `flames run` stores (its arms' lowest near_dup_max, at most 0.9).",
)
@click.option(
    "--pairs-out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File mode: write the pairs as JSONL {a, b, score}.",
)
@click.option(
    "--clusters-out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File mode: write one line per problem: cluster, exact_dup, nn, nn_score.",
)
@click.option(
    "--field",
    "text_field",
    default=None,
    help="The text field (default: question, problem or text).",
)
@click.option(
    "--scorer",
    type=click.Choice(sorted(SCORERS)),
    default=DEFAULT_SCORER,
    show_default=True,
    help="rapidfuzz scorer on normalised text.",
)
@click.option(
    "--prefer",
    default=None,
    help="Representative: highest value of this numeric field (file) or scores "
    "column (experiment, e.g. judge_score); ties and default: earliest.",
)
@click.option(
    "--nn-floor",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.5,
    show_default=True,
    help="Experiment mode: keep nearest neighbours down to this.",
)
@db_option
def command(
    source: str,
    threshold: float | None,
    pairs_out: str | None,
    clusters_out: str | None,
    text_field: str | None,
    scorer: str,
    prefer: str | None,
    nn_floor: float,
    db_path: str,
) -> None:
    """Find exact and near-duplicate problems in SOURCE (a JSONL file or an experiment name).

    Similarity is rapidfuzz's normalised Indel ratio on normalised text (lowercase,
    punctuation and whitespace folded, numbers kept), 0..1. Candidates come from
    MinHash-LSH over word bigrams and are scored exactly. For an experiment, each
    problem's exact-dup flag, nearest neighbour, cluster and the pairs are stored,
    so the TUI's threshold is a query.
    """
    options = SearchOptions(scorer=scorer)
    file_mode = is_file_source(source)
    db = None if file_mode else open_workspace(db_path)
    if threshold is None:
        threshold = FILE_THRESHOLD if db is None else experiment_threshold(db, source)
    with reporter_bar("dedup") as update:
        if db is None:
            summary = dedup_file(
                source,
                threshold,
                text_field=text_field,
                pairs_out=pairs_out,
                clusters_out=clusters_out,
                prefer_field=prefer,
                options=options,
                progress=update,
            )
        else:
            if pairs_out or clusters_out or text_field:
                raise click.UsageError(
                    f"'{source}' is not a file: --pairs-out, --clusters-out "
                    "and --field apply to files only"
                )
            from pipeline.dedup.experiment import dedup_experiment

            with stage_locked(db, "dedup", source):
                summary = dedup_experiment(
                    db,
                    source,
                    threshold,
                    nn_floor=nn_floor,
                    prefer=prefer,
                    options=options,
                    progress=update,
                )
    print_summary(summary, threshold)
    if pairs_out:
        click.echo(f"pairs written to {pairs_out}")
    if clusters_out:
        click.echo(f"clusters written to {clusters_out}")
