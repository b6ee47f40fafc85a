"""A replaced worker's late result is dropped: what a screen shows is the newest request's."""

from __future__ import annotations

import asyncio
import threading

import pytest
from textual import work
from textual.app import App, ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tests.tui.helpers import settle
from workbench.tui.screens.base import CurrentResults

pytestmark = pytest.mark.asyncio


class Loads(CurrentResults, Screen[None]):
    class Loaded(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    def __init__(self, via_message: bool) -> None:
        super().__init__()
        self.via_message = via_message
        self.shown: list[str] = []
        self.release = {name: threading.Event() for name in ("old", "new")}
        self.started = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self, value: str) -> None:
        self.started.set()
        self.release[value].wait(10)
        if self.via_message:
            self.post_result(self.Loaded(value))
        else:
            self.show_result(self.shown.append, value)

    def on_loads_loaded(self, message: Loaded) -> None:
        self.shown.append(message.value)


@pytest.mark.parametrize("via_message", [True, False], ids=["post_result", "show_result"])
async def test_a_replaced_worker_reports_late_and_is_not_shown(via_message: bool) -> None:
    screen = Loads(via_message)

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test() as pilot:
        screen.load("old")
        assert await asyncio.to_thread(screen.started.wait, 10)
        screen.load("new")  # replaces "old", whose thread is running: it cannot be stopped
        screen.release["new"].set()
        await settle(pilot, lambda: screen.shown == ["new"])
        screen.release["old"].set()  # the old thread finishes now and reports
        await pilot.pause(0.3)
        await settle(pilot)
        assert screen.shown == ["new"]
        screen.load("old")  # a worker not replaced is shown, of course
        await settle(pilot, lambda: screen.shown == ["new", "old"])


async def test_a_periodic_refresh_sees_its_load_in_flight() -> None:
    """The Runs and Jobs timers skip a turn while their load runs, rather than replace it (a
    replaced load's result is dropped: with loads slower than the period, nothing showed)."""
    screen = Loads(via_message=False)

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test() as pilot:
        assert not screen.load_in_flight("load")
        screen.load("old")
        assert await asyncio.to_thread(screen.started.wait, 10)
        assert screen.load_in_flight("load") and not screen.load_in_flight("other")
        screen.release["old"].set()
        await settle(pilot, lambda: screen.shown == ["old"])
        assert not screen.load_in_flight("load")
