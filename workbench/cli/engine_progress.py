"""The progress bar of an engine run: rich, on stderr, fed by the engine's Progress events."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.llm.engine import Progress as EngineEvent


class EngineProgress:
    """Shows done/total, cached, failed, tokens/s and ETA for one engine run."""

    def __init__(self, label: str) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=None, detail="")

    def __enter__(self) -> EngineProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, event: EngineEvent) -> None:
        """Redraw from one engine Progress event."""
        eta = "" if event.eta_s is None else f" eta {event.eta_s:,.0f}s"
        detail = (
            f"cached {event.cached}  failed {event.failed}  {event.tokens_per_s:,.1f} tok/s{eta}"
        )
        self._bar.update(self._task, completed=event.done, total=event.total, detail=detail)
