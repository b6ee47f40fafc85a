"""Small helpers for Pilot tests: wait for workers, read what a widget shows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled, WorkerFailed


async def settle(
    pilot: Pilot[None], condition: Callable[[], bool] | None = None, timeout: float = 15.0
) -> None:
    """Let workers finish and the screen repaint; optionally until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # Exclusive workers replaced by newer ones; failures show as notifications.
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if condition is None or condition():
            return
        if loop.time() > deadline:
            shown = [n.message for n in pilot.app._notifications]  # a failed worker says why
            raise AssertionError(f"condition not met before timeout; notifications: {shown}")
        await asyncio.sleep(0.05)


def text_of(pilot: Pilot[None], selector: str) -> str:
    """The plain text a Static shows."""
    widget = pilot.app.screen.query_one(selector, Static)
    return str(widget.render())
