"""Progress bars for long CLI work (rich, on stderr), fed by `pipeline.progress` events.

`reporter_bar` is the one bar every command uses. Inside a background job the same events
also go to the job's row and log (`workbench.cli.job_progress`), so a command needs nothing
special to run as a job.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.progress import Fanout, Overall, ProgressEvent, Reporter
from workbench.cli.job_progress import flush, job_reporters

console = Console(stderr=True)


@contextmanager
def reporter_bar(
    description: str, *, stages: Sequence[str] | None = None, transient: bool = True
) -> Iterator[Reporter]:
    """Yield a `Reporter` drawn as one bar on stderr (and written to the job row in a job).

    With `stages`, the command's several stages fold into one overall bar (`Overall`):
    one bar per command, one progress per job. `transient=False` leaves the last state
    on screen (engine runs, whose cached/failed counts are worth keeping).
    """
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    ) as progress:
        task = progress.add_task(description, total=None, detail="")

        def draw(event: ProgressEvent) -> None:
            progress.update(
                task,
                description=escape(event.stage or description),
                completed=event.done,
                total=event.total,
                detail=escape(event.detail),
            )

        reporter: Reporter = Fanout(draw, *job_reporters())
        if stages:
            reporter = Overall(reporter, stages, label=description)
        try:
            yield reporter
        finally:
            flush()
