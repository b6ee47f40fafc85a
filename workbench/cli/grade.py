"""`flames grade FILE.jsonl --out OUT.jsonl`: verdicts for (gold, pred) lines, on all cores."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.answers.grading import count_lines, grade_file
from pipeline.answers.pool import DEFAULT_TIMEOUT_S
from workbench.cli.progress import progress_bar


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
def command(
    file: str, out_path: str, workers: int | None, timeout_s: float, no_last_number: bool
) -> None:
    """Grade predicted answers against gold answers.

    Each line of FILE needs `gold` and `pred` (a whole model output or a bare answer).
    Each output line adds `equivalent` (true, false, or null when unverifiable),
    `pred_extracted`, `gold_extracted`, `reason` and the extraction rules used.
    """
    total = count_lines(file) if Path(file).is_file() else None
    with progress_bar("grading", total) as update:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            update(done, None)

        summary = grade_file(
            file,
            out_path,
            workers=workers,
            timeout_s=timeout_s,
            fallback_last_number=not no_last_number,
            progress=advance,
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
