"""`flames grade FILE.jsonl --out OUT.jsonl`: verdicts for (gold, pred) lines, on all cores.

Grading reads and writes files only: `--db` is accepted like on every command, and the
workspace is not opened or changed (verdicts of an experiment's solutions are stored by
`flames solve`, of an evaluation by `flames eval`).
"""

from __future__ import annotations

import click

from pipeline.answers.grading import grade_file
from pipeline.answers.pool import DEFAULT_TIMEOUT_S
from workbench.cli.options import db_option
from workbench.cli.progress import reporter_bar


@click.command(name="grade")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the graded JSONL (input lines plus verdict fields).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Symbolic-check processes (default: all cores).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds per symbolic check before it is 'unverifiable'.",
)
@click.option(
    "--no-last-number",
    is_flag=True,
    help="Do not fall back to the last number when a prediction has no marked answer.",
)
@db_option
def command(
    file: str,
    out_path: str,
    workers: int | None,
    timeout_s: float,
    no_last_number: bool,
    db_path: str,
) -> None:
    """Grade predicted answers against gold answers.

    Each line of FILE needs `gold` and `pred` (a whole model output or a bare answer).
    Each output line adds `equivalent` (true, false, or null when unverifiable),
    `pred_extracted`, `gold_extracted`, `reason` and the extraction rules used. A line that
    cannot be graded (not JSON, not an object, a field of the wrong type) gets a null
    verdict and its reason; the file goes on. --db is accepted and not used: grading
    touches no workspace.
    """
    del db_path  # accepted for a uniform command line; grading works on files only
    with reporter_bar("grading") as progress:
        summary = grade_file(
            file,
            out_path,
            workers=workers,
            timeout_s=timeout_s,
            fallback_last_number=not no_last_number,
            progress=progress,
        )
    rate = summary.total / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"graded {summary.total} lines in {summary.seconds:.1f}s ({rate:.0f}/s): "
        f"{summary.equivalent} equivalent, {summary.not_equivalent} not, "
        f"{summary.unverifiable} unverifiable -> {out_path}"
    )
    top = sorted(summary.reasons.items(), key=lambda kv: -kv[1])[:6]
    if top:
        click.echo("reasons: " + ", ".join(f"{reason} {n}" for reason, n in top))
