"""The one progress protocol: every long stage reports `ProgressEvent`s to a `Reporter`.

CLI bars, job rows and the TUI are reporters; the pipeline never knows which one it talks
to. A stage reports `(stage, done, total, detail, failed)`; `total` is None while unknown.
Events are cheap to make, so a stage may report often: reporters that write somewhere
(a job row) throttle themselves with `Throttle`.

A run of several stages (a job running `flames run`, say) wraps its reporter in `Overall`
so that one bar shows the whole job, with the current stage as its detail. A stage that
calls another long function part by part (the engine once per chunk) hands it `within(...)`
so the part's counts add up to the stage's own.

Writing a new long-running function: take `progress: Reporter = ignore` and call
`progress(ProgressEvent("my stage", done, total, detail))`; report once at the start (with
`done=0`, before loading a model) and once at the end. Nothing else is needed for the CLI
bar, the job row and the TUI to show it.
"""

from __future__ import annotations

import time
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
    share. The event passed on has `stage` = `label`, done/total over `scale` units, the
    current stage's own line as detail, and the failures of every stage so far summed.
    A stage not in the list (a sub-step) counts as part of the current one. The bar never
    goes back: a stage whose own counts restart (a retry round) holds it where it was.
    """

    def __init__(
        self, reporter: Reporter, stages: Sequence[str], *, label: str = "run", scale: int = 1000
    ) -> None:
        self.reporter = reporter
        self.stages = list(stages)
        self.label = label
        self.scale = scale
        self.failed = 0
        self._index = 0
        self._done = 0
        self._failed_by_stage: dict[int, int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        index = self._find(event.stage)
        if index is not None and index >= self._index:
            self._index = index
            inner = min(1.0, event.done / event.total) if event.total else 0.0
            reached = int(self.scale * (index + inner) / max(1, len(self.stages)))
            self._done = max(self._done, reached)
        # else: a sub-step, or a late event of an earlier stage: the bar stays where it is
        done = self._done
        self._failed_by_stage[self._index] = max(
            self._failed_by_stage.get(self._index, 0), event.failed
        )
        self.failed = sum(self._failed_by_stage.values())
        detail = f"{event.stage} {event.done}/{event.total if event.total is not None else '?'}"
        if event.detail:
            detail += f"  {event.detail}"
        self.reporter(
            replace(
                event,
                stage=self.label,
                done=min(done, self.scale),
                total=self.scale,
                detail=detail,
                failed=self.failed,
            )
        )

    def _find(self, stage: str) -> int | None:
        for index, name in enumerate(self.stages):
            if stage == name or stage.startswith(f"{name} "):
                return index
        return None


def within(
    reporter: Reporter, stage: str, *, before: int = 0, total: int | None = None
) -> Reporter:
    """A reporter for one part of `stage` (a chunk, a sub-step, one engine run).

    The part's `done` adds to the `before` units finished by earlier parts, out of the
    stage's `total`; the part's own stage and detail become the event's detail line.
    """

    def report(event: ProgressEvent) -> None:
        line = event.detail if event.stage == stage else f"{event.stage}: {event.detail}"
        reporter(
            ProgressEvent(
                stage,
                before + event.done,
                total if total is not None else event.total,
                line.strip(": "),
                event.failed,
            )
        )

    return report


class Throttle:
    """Passes an event on at most every `interval_s`, but never drops one that matters.

    The first event, a change of stage, a finished stage and a new failure always pass,
    so a reporter that writes (a job row) stays cheap without hiding what happened.
    """

    def __init__(self, reporter: Reporter, interval_s: float = 0.5) -> None:
        self.reporter = reporter
        self.interval_s = interval_s
        self._last: ProgressEvent | None = None
        self._held: ProgressEvent | None = None
        self._at = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        last = self._last
        if (
            last is None
            or event.stage != last.stage
            or event.finished
            or event.failed != last.failed
            or now - self._at >= self.interval_s
        ):
            self._last, self._held, self._at = event, None, now
            self.reporter(event)
        else:
            self._held = event

    def flush(self) -> None:
        """Pass on the last event held back (call it when the work ends)."""
        if self._held is not None:
            event, self._held = self._held, None
            self._last, self._at = event, time.monotonic()
            self.reporter(event)
