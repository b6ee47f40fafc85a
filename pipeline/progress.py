"""The one progress protocol: every long stage reports `ProgressEvent`s to a `Reporter`.

CLI bars, job rows and the TUI are reporters; the pipeline never knows which one it talks
to. A stage reports `(stage, done, total, detail)`; `total` is None while unknown. Events
are cheap to make, so a stage may report often: reporters throttle themselves.

A run of several stages (a job running `flames run`, say) wraps its reporter in `Overall`
so that one bar shows the whole job, with the current stage as its detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class ProgressEvent:
    """Where one stage stands.

    Attributes:
        stage: what is running ("generate", "solve", "eval gsm8k", "train").
        done: units finished (requests, problems, items, steps), cached ones included.
        total: units in all, None while unknown.
        detail: one short line for humans ("cached 12  failed 0  38 tok/s").
        failed: units that ended in failure (counted in `done` too).
    """

    stage: str
    done: int = 0
    total: int | None = None
    detail: str = ""
    failed: int = 0

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total


class Reporter(Protocol):
    """Anything that takes progress events: a CLI bar, a job row, a TUI message."""

    def __call__(self, event: ProgressEvent) -> None: ...


def ignore(event: ProgressEvent) -> None:
    """The reporter that shows nothing (the default of every stage)."""


class Fanout:
    """Sends each event to several reporters (a CLI bar and the job row, say)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def __call__(self, event: ProgressEvent) -> None:
        for reporter in self.reporters:
            reporter(event)


class Overall:
    """Folds the events of a fixed list of stages into one job-wide event.

    Each stage counts as one share of the whole; within a stage, its done/total fills its
    share. The event passed on has `stage` = `label`, done/total over `scale` units, and
    the current stage's own line as detail.
    """

    def __init__(
        self, reporter: Reporter, stages: Sequence[str], *, label: str = "run", scale: int = 1000
    ) -> None:
        self.reporter = reporter
        self.stages = list(stages)
        self.label = label
        self.scale = scale
        self.failed = 0

    def __call__(self, event: ProgressEvent) -> None:
        index = self._index(event.stage)
        share = self.scale / max(1, len(self.stages))
        inner = event.done / event.total if event.total else 0.0
        done = int(share * index + share * min(1.0, inner))
        detail = f"{event.stage} {event.done}/{event.total if event.total is not None else '?'}"
        if event.detail:
            detail += f"  {event.detail}"
        self.reporter(replace(event, stage=self.label, done=done, total=self.scale, detail=detail))

    def _index(self, stage: str) -> int:
        for index, name in enumerate(self.stages):
            if stage == name or stage.startswith(f"{name} "):
                return index
        return 0
