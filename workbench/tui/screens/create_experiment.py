"""A dialog: create an experiment from a preset (what `flames experiment new` does)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from workbench.tui.widgets.field import Field


class CreateExperimentScreen(ModalScreen[tuple[int, str] | None]):
    """Name + preset -> a new experiment; dismisses with (id, name)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="create.cancel")]

    def compose(self) -> ComposeResult:
        from pipeline.config.loader import preset_names

        with Vertical(id="create-dialog"):
            yield Label("[b]New experiment[/]")
            names = preset_names()
            # The quickstart first: it is what a new user can run on a CPU right away.
            default = "quickstart" if "quickstart" in names else names[0]
            yield Field(value=default, placeholder="name (letters, digits, - and _)", id="name")
            yield Select(
                [(n, n) for n in names],
                value=default,
                allow_blank=False,
                compact=True,
                id="preset",
            )
            yield Static("", id="create-message")
            yield Button("Create", id="create", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name", Field).focus()

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self) -> None:
        self._submit()

    def _submit(self) -> None:
        name = self.query_one("#name", Field).value.strip()
        preset = str(self.query_one("#preset", Select).value)
        if not name:
            self.query_one("#create-message", Static).update("give a name")
            return
        self.query_one("#create-message", Static).update(
            f"CLI: flames experiment new {escape(name)} --preset {preset}"
        )
        self._create(name, preset)

    @work(thread=True, exclusive=True, group="create-experiment", exit_on_error=False)
    def _create(self, name: str, preset: str) -> None:
        from pipeline.experiments.store import create_experiment

        app = self.app
        try:
            with app.workspace.db() as db:  # type: ignore[attr-defined]
                created = create_experiment(db, name, preset=preset)
        except Exception as exc:
            app.call_from_thread(
                self.query_one("#create-message", Static).update,
                f"[b $error]✗ {escape(str(exc))}[/]",
            )
            return
        app.call_from_thread(self.dismiss, (created.experiment_id, name))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
