"""A progress bar for long CLI work (rich), fed by pipeline progress callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

from pipeline.progress import ProgressEvent, Reporter

console = Console(stderr=True)


@contextmanager
def progress_bar(
    description: str, total: int | None = None
) -> Iterator[Callable[[int, int | None], None]]:
    """Yield `update(done, total)`; the bar is drawn on stderr and removed when done."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, new_total: int | None = None) -> None:
            progress.update(
                task, completed=done, total=new_total if new_total is not None else total
            )

        yield update


@contextmanager
def reporter_bar(description: str) -> Iterator[Reporter]:
    """Yield a `Reporter` (pipeline.progress) drawn as one bar on stderr.

    The bar shows the latest event's stage, done/total and detail; inside a background job
    the same events also reach the job's row (see `pipeline.jobs`).
    """
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, detail="")

        def report(event: ProgressEvent) -> None:
            progress.update(
                task,
                description=event.stage or description,
                completed=event.done,
                total=event.total,
                detail=escape(event.detail),
            )

        yield report
