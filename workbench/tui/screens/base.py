"""What every workbench screen shares: the workspace, the current experiment, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from pipeline.errors import FlamesError
from workbench.tui.workspace import Workspace

if TYPE_CHECKING:
    from workbench.tui.app import FlamesApp


class CurrentResults(MessagePump):
    """Shows only the results of workers that were not replaced.

    Starting an exclusive worker cancels the one before it, but a thread cannot be stopped:
    the old one finishes and reports anyway, possibly after the new one (the Blend screen
    once showed the plan for the ratios it had before the experiment's config loaded). A
    result is therefore shown only if its worker was not replaced; both checks run on the UI
    thread, where replacing happens, so what shows is current or nothing.
    """

    def post_result(self, message: Message) -> None:
        """From a worker thread: post `message`, dropped on arrival if the worker was replaced."""
        setattr(message, "_flames_worker", get_current_worker())  # noqa: B010
        self.post_message(message)

    def show_result(self, callback: Callable[..., object], *args: Any) -> None:
        """From a worker thread: run `callback(*args)` on the UI thread unless the worker was
        replaced meanwhile."""
        worker = get_current_worker()

        def show() -> None:
            if not worker.is_cancelled:
                callback(*args)

        self.app.call_from_thread(show)

    def load_in_flight(self, group: str) -> bool:
        """A worker of this screen's `group` is still pending or running. A periodic refresh
        skips its turn then: replacing the load would drop its result, and when each load
        takes longer than the period (a training run busying the CPU) nothing would show."""
        return any(
            worker.node is cast(Any, self)
            and worker.group == group
            and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    async def _on_message(self, message: Message) -> None:
        worker = getattr(message, "_flames_worker", None)
        if worker is not None and worker.is_cancelled:
            return
        await super()._on_message(message)


class WorkbenchScreen(CurrentResults, Screen[Any]):
    """A screen over the workspace; worker failures end up in one notification."""

    BINDINGS = [Binding("escape", "leave_field", "Leave field", show=False, id="screen.leave")]
    # The widget focused when the screen opens: never a text field, so number keys switch
    # screens straight away.
    FOCUS: str | None = None

    def on_screen_resume(self) -> None:
        self._focus_main()

    def on_mount(self) -> None:
        from workbench.tui.widgets.screen_bar import ScreenBar

        # Every screen names itself, the other screens and the working experiment (top line).
        if not self.query(ScreenBar):
            self.mount(ScreenBar())
        self.call_after_refresh(self._focus_main)

    def _focus_main(self) -> None:
        from textual.widgets import Input

        if self.FOCUS and (self.focused is None or isinstance(self.focused, Input)):
            self.set_focus(self.query_one(self.FOCUS))

    def action_leave_field(self) -> None:
        if self.FOCUS:
            self.set_focus(self.query_one(self.FOCUS))
        else:
            self.set_focus(None)

    @property
    def flames(self) -> FlamesApp:
        """The app, typed."""
        from workbench.tui.app import FlamesApp

        # Pilot tests run screens inside the real app; anything else is a programming error.
        assert isinstance(self.app, FlamesApp)
        return self.app

    @property
    def workspace(self) -> Workspace:
        """The workspace every query goes through."""
        return self.flames.workspace

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = (
                str(error) if isinstance(error, FlamesError) else f"{type(error).__name__}: {error}"
            )
            # The message may quote data (a path, a problem): never read it as markup.
            self.notify(message, title="Error", severity="error", timeout=8, markup=False)
