"""Seeds: the workspace's seed sets, their first seeds, and importing a new set as a job.

What `flames seeds list|show|import` do: the list and the seeds come from the same storage
queries, and an import runs that very command in the background (a big set takes minutes;
the job survives the TUI closing).
"""

from __future__ import annotations

import shlex
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static

from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table

SAMPLE = 5
SOURCE_HINT = "file .jsonl/.csv/.parquet, hf:ORG/NAME[:CONFIG]:SPLIT, or champ"


def import_command(source: str, name: str, db_path: str) -> str:
    """The CLI line the import job runs (and the screen shows)."""
    return shlex.join(["flames", "seeds", "import", source, "--name", name, "--db", db_path])


class SeedsScreen(WorkbenchScreen):
    """List seed sets, look at their seeds, import more."""

    FOCUS = "#seed-sets"
    BINDINGS = [
        Binding("i", "import_form", "Import a set", id="seeds.import"),
        Binding("ctrl+r", "reload", "Refresh", id="seeds.refresh"),
    ]

    class Loaded(Message):
        """The seed sets and, per set name, the experiments that draw from it."""

        def __init__(self, sets: list[dict[str, Any]], users: dict[str, list[str]]) -> None:
            self.sets = sets
            self.users = users
            super().__init__()

    class Inspected(Message):
        """The first seeds of one set."""

        def __init__(self, name: str, seeds: list[dict[str, Any]]) -> None:
            self.name = name
            self.seeds = seeds
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.sets: dict[str, dict[str, Any]] = {}
        self.users: dict[str, list[str]] = {}

    def compose(self) -> ComposeResult:
        yield Table(id="seed-sets", cursor_type="row", zebra_stripes=True)
        with Vertical(id="seed-import"):
            with Horizontal(classes="controls"):
                yield Label("source", classes="label")
                yield Field(placeholder=SOURCE_HINT, id="seed-source")
            with Horizontal(classes="controls"):
                yield Label("name", classes="label")
                yield Field(placeholder="seed set name, e.g. gsm8k-train", id="seed-name")
                yield Button("Import", id="seed-import-run", variant="primary", compact=True)
            yield Static("", id="seed-import-command", markup=False)
        with VerticalScroll(id="seed-detail"):
            yield Static("", id="seed-seeds", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("seed set", "seeds", "answers", "source")
        self.query_one("#seed-import").display = False  # the sets load on screen resume

    def on_screen_resume(self) -> None:
        self.action_reload()
        # Asked for by another screen (a preset that needs this set): offer its import.
        pending, self.flames.pending_seed_import = self.flames.pending_seed_import, None
        if pending:
            self.open_import(name=pending)

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="seed-sets", exit_on_error=False)
    def _load(self) -> None:
        from pipeline.experiments.store import seed_set_users
        from storage.seeds import list_seed_sets

        with self.workspace.db() as db:
            sets = list_seed_sets(db)
            users = seed_set_users(db)
        self.post_result(self.Loaded(sets, users))

    def on_seeds_screen_loaded(self, event: Loaded) -> None:
        self.sets = {str(row["name"]): row for row in event.sets}
        self.users = event.users
        table = self.query_one(DataTable)
        table.clear()
        for row in event.sets:
            table.add_row(
                Text(str(row["name"])),
                f"{int(row['seeds']):,}",
                f"{int(row['with_answer'] or 0):,}",
                Text(str(row["source"])),
                key=str(row["name"]),
            )
        if not event.sets:
            self.query_one("#seed-seeds", Static).update(
                "No seed sets yet. Press i to import one (champ is embedded: source champ), "
                "or run `flames seeds import SOURCE --name NAME`."
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._inspect(str(event.row_key.value))

    @work(thread=True, exclusive=True, group="seed-sample", exit_on_error=False)
    def _inspect(self, name: str) -> None:
        from storage.seeds import sample_seeds

        row = self.sets.get(name)
        if row is None:
            return
        with self.workspace.db() as db:
            seeds = sample_seeds(db, int(row["id"]), SAMPLE)
        self.post_result(self.Inspected(name, seeds))

    def on_seeds_screen_inspected(self, event: Inspected) -> None:
        row = self.sets.get(event.name, {})
        users = ", ".join(self.users.get(event.name, [])) or "no experiment yet"
        lines = [
            Content.assemble(
                (event.name, "bold"),
                f": {int(row.get('seeds', 0)):,} seeds, {int(row.get('with_answer') or 0):,} "
                f"with an answer, from {row.get('source', '?')} ({row.get('created_at', '?')})",
            ),
            Content(f"used by: {users}"),
            Content(f"CLI: flames seeds show {shlex.quote(event.name)}"),
        ]
        for seed in event.seeds:
            answer = seed["answer"] if seed["answer"] is not None else "(none)"
            lines += [
                Content(""),
                Content.assemble((f"line {seed['source_line']}", "bold"), " ", seed["question"]),
                Content.assemble(("answer ", "dim"), str(answer)),
            ]
        self.query_one("#seed-seeds", Static).update(Content("\n").join(lines))

    # -- import -------------------------------------------------------------------------
    def action_import_form(self) -> None:
        self.open_import()

    def open_import(self, name: str = "", source: str = "") -> None:
        """Show the import form (filled in when another screen asks for a set by name)."""
        self.query_one("#seed-import").display = True
        if name:
            self.query_one("#seed-name", Field).value = name
        if source:
            self.query_one("#seed-source", Field).value = source
        self.query_one("#seed-source", Field).focus()
        self._show_import_command()

    def on_input_changed(self) -> None:
        self._show_import_command()

    def _show_import_command(self) -> None:
        source = self.query_one("#seed-source", Field).value.strip()
        name = self.query_one("#seed-name", Field).value.strip()
        self.query_one("#seed-import-command", Static).update(
            f"CLI: {import_command(source or 'SOURCE', name or 'NAME', self.flames.db_path)}"
        )

    def on_input_submitted(self) -> None:
        self._start_import()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "seed-import-run":
            self._start_import()

    def _start_import(self) -> None:
        source = self.query_one("#seed-source", Field).value.strip()
        name = self.query_one("#seed-name", Field).value.strip()
        if not source or not name:
            self.notify("give a source and a name", severity="warning")
            return
        self._launch(import_command(source, name, self.flames.db_path))

    @work(thread=True, group="seed-import", exit_on_error=False)
    def _launch(self, command: str) -> None:
        from workbench.jobs.launcher import launch_job

        with self.workspace.db() as db:
            job_id = launch_job(db, self.flames.db_path, command, kind="seeds import")
        self.app.call_from_thread(
            self.notify,
            f"job {job_id} started: {command}  (see Jobs, 6)",
            timeout=5,
            markup=False,
        )
        self.app.call_from_thread(self._import_started)

    def _import_started(self) -> None:
        self.query_one("#seed-import").display = False
        self.query_one(DataTable).focus()
