"""How a stage command ends: exit 0, or exit 3 when it finished but left failures.

Exit 3 (`EXIT_WITH_FAILURES`) means "done with N failures": the work ran to its end,
some units (requests given up, problems that failed) did not succeed, and running the
same command again retries them. A job shows it as "done with N failures"; scripts and
`flames run` can tell it from both success and a crash.
"""

from __future__ import annotations

import click

from pipeline.jobs import EXIT_WITH_FAILURES
from workbench.cli.job_progress import note_failures


def exit_if_failures(count: int, what: str, *, retry: str = "run the same command again") -> None:
    """With `count` > 0: say so on stderr, record it on the job row, exit 3."""
    if count <= 0:
        return
    note_failures(count)
    click.echo(f"finished with failures: {count} {what}; {retry} to retry them", err=True)
    raise SystemExit(EXIT_WITH_FAILURES)
