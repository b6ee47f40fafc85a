"""A dialog: create an experiment from a preset (what `flames experiment new` does).

Picking a preset proposes a free name after it and says which seed sets the preset draws
from that the workspace lacks, with a button that opens the Seeds import for them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from workbench.tui.screens.base import CurrentResults
from workbench.tui.widgets.field import Field


@dataclass(frozen=True)
class CreateOutcome:
    """What the dialog ended with: a new experiment, or a seed set to import first."""

    experiment: tuple[int, str] | None = None
    import_seed_set: str | None = None


class CreateExperimentScreen(CurrentResults, ModalScreen[CreateOutcome | None]):
    """Preset + name -> a new experiment."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="create.cancel")]

    class PresetRead(Message):
        """A preset's free default name, description and missing seed sets."""

        def __init__(self, preset: str, name: str, description: str, missing: list[str]) -> None:
            self.preset = preset
            self.name = name
            self.description = description
            self.missing = missing
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self._auto_name: str | None = None  # the name we proposed (replaced on a preset change)
        self.missing: list[str] = []

    def compose(self) -> ComposeResult:
        from pipeline.config.loader import preset_names

        names = preset_names()
        # The quickstart first: it is what a new user can run on a CPU right away.
        default = "quickstart" if "quickstart" in names else names[0]
        with Vertical(id="create-dialog"):
            yield Label(Content.styled("New experiment", "bold"))
            with Horizontal(classes="controls"):
                yield Label("name", classes="label")
                yield Field(value=default, placeholder="letters, digits, - and _", id="name")
            with Horizontal(classes="controls"):
                yield Label("preset", classes="label")
                yield Select(
                    [(n, n) for n in names],
                    value=default,
                    allow_blank=False,
                    compact=True,
                    id="preset",
                )
            yield Static("", id="preset-about", markup=False)
            yield Static("", id="create-seeds", markup=False)
            yield Static("", id="create-command", markup=False)
            yield Static("", id="create-message", markup=False)
            with Horizontal(classes="controls"):
                yield Button("Create", id="create", variant="primary", compact=True)
                yield Button("Import seed sets", id="import-seeds", compact=True)

    def on_mount(self) -> None:
        for hidden in ("#import-seeds", "#create-seeds", "#create-message"):
            self.query_one(hidden).display = False
        self.query_one("#name", Field).focus()
        self._read_preset(str(self.query_one("#preset", Select).value))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "preset" and isinstance(event.value, str):
            self._read_preset(event.value)

    @work(thread=True, exclusive=True, group="create-preset", exit_on_error=False)
    def _read_preset(self, preset: str) -> None:
        from pipeline.config.loader import parse_config, preset_text
        from pipeline.experiments.store import free_name, missing_seed_sets

        config = parse_config(preset_text(preset), source=f"preset {preset}", name=preset)
        with self.app.workspace.db() as db:  # type: ignore[attr-defined]
            name = free_name(db, preset)
            missing = missing_seed_sets(db, config)
        self.post_result(self.PresetRead(preset, name, config.experiment.description, missing))

    def on_create_experiment_screen_preset_read(self, event: PresetRead) -> None:
        field = self.query_one("#name", Field)
        # Follow the preset unless the user typed a name of their own.
        if self._auto_name is None or field.value.strip() in ("", self._auto_name):
            field.value = event.name
            self._auto_name = event.name
        self.missing = event.missing
        self.query_one("#preset-about", Static).update(event.description)
        seeds = self.query_one("#create-seeds", Static)
        seeds.display = bool(event.missing)
        if event.missing:
            seeds.update(
                Content.assemble(
                    ("⚠ needs seed sets ", "bold $warning"),
                    ", ".join(event.missing),
                    " that this workspace lacks: import them first (generation needs them).",
                )
            )
        else:
            seeds.update("")
        self.query_one("#import-seeds").display = bool(event.missing)
        self._show_command()

    def on_input_changed(self) -> None:
        self._show_command()

    def _show_command(self) -> None:
        name = self.query_one("#name", Field).value.strip() or "NAME"
        preset = str(self.query_one("#preset", Select).value)
        self.query_one("#create-command", Static).update(
            f"CLI: {shlex.join(['flames', 'experiment', 'new', name, '--preset', preset])}"
        )

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "import-seeds" and self.missing:
            self.dismiss(CreateOutcome(import_seed_set=self.missing[0]))
        elif event.button.id == "create":
            self._submit()

    def _submit(self) -> None:
        name = self.query_one("#name", Field).value.strip()
        preset = str(self.query_one("#preset", Select).value)
        if not name:
            self._say(Content("give a name"))
            return
        self._create(name, preset)

    @work(thread=True, exclusive=True, group="create-experiment", exit_on_error=False)
    def _create(self, name: str, preset: str) -> None:
        from pipeline.experiments.store import create_experiment

        app = self.app
        try:
            with app.workspace.db() as db:  # type: ignore[attr-defined]
                created = create_experiment(db, name, preset=preset)
        except Exception as exc:  # a ConfigError names the problem; show it in the dialog
            app.call_from_thread(self._say, Content.assemble(("✗ ", "bold $error"), str(exc)))
            return
        app.call_from_thread(self.dismiss, CreateOutcome(experiment=(created.experiment_id, name)))

    def _say(self, message: Content) -> None:
        widget = self.query_one("#create-message", Static)
        widget.display = True
        widget.update(message)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
