"""Experiments: the list, arms, per-stage counts and status; create, clone, rename, delete;
launch stages as jobs."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from pipeline.problems.overview import StageCounts
from pipeline.selection import Selection
from storage.jobs import JobRow
from workbench.jobs.launcher import STAGES, launch_job, stage_command
from workbench.tui.changes import WorkspaceChanges
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.screens.create_experiment import CreateOutcome
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table

STAGE_KEYS = {"generate": "g", "solve": "s", "filter": "f", "dedup": "d", "decontaminate": "c"}
REFRESH_S = 2.0  # how often the screen asks whether anything was written (no table is read)


@dataclass(frozen=True)
class Overview:
    """What the detail panes show for one experiment."""

    counts: StageCounts
    arms: list[dict[str, object]]
    jobs: list[JobRow]


def count_lines(counts: StageCounts, policy: str) -> list[Content]:
    """The stage counts in the one vocabulary; a stage that has not run says so."""

    def reached(n: int, verb: str) -> str:
        if counts.generated == 0:
            return "-"
        return f"not {verb} yet" if n == 0 else f"{n:,} of {counts.generated:,}"

    rows = [
        ("generated", f"{counts.generated:,}"),
        ("rejected", f"{counts.rejected:,}"),
        ("solved", reached(counts.solved, "solved")),
        ("judged", reached(counts.judged, "judged")),
        ("dedup checked", reached(counts.dedup_checked, "checked")),
        ("decontam checked", reached(counts.decontam_checked, "checked")),
        ("kept", f"{counts.kept:,} ({policy})"),
    ]
    return [Content.styled("Problems", "bold")] + [
        Content(f"  {label:<17} {value}") for label, value in rows
    ]


class ExperimentsScreen(WorkbenchScreen):
    """Pick the experiment every screen works on; launch its stages in the background."""

    FOCUS = "#experiments"
    BINDINGS = [
        Binding(
            "enter",
            "use",
            "Use",
            tooltip="Work on this experiment everywhere",
            id="experiments.use",
        ),
        Binding(
            "n", "create", "New", tooltip="Create an experiment from a preset", id="experiments.new"
        ),
        *[
            Binding(
                key,
                f"launch('{stage}')",
                stage.title(),
                tooltip=f"Run `flames {stage}` on this experiment as a background job",
                id=f"experiments.{stage}",
            )
            for stage, key in STAGE_KEYS.items()
        ],
        Binding(
            "C",
            "clone",
            "Clone",
            tooltip="Copy its config to a new experiment",
            id="experiments.clone",
        ),
        Binding("R", "rename", "Rename", tooltip="Give it another name", id="experiments.rename"),
        Binding(
            "delete,X",
            "delete",
            "Delete",
            tooltip="Delete it with its problems (asks first)",
            id="experiments.delete",
        ),
        Binding("ctrl+r", "reload", "Refresh", id="experiments.refresh"),
    ]

    class Listed(Message):
        """The experiments, as `storage.experiments.experiment_list` rows."""

        def __init__(self, rows: list[dict[str, object]]) -> None:
            self.rows = rows
            super().__init__()

    class Detailed(Message):
        """One experiment's overview."""

        def __init__(self, experiment_id: int, overview: Overview) -> None:
            self.experiment_id = experiment_id
            self.overview = overview
            super().__init__()

    def __init__(self) -> None:
        super().__init__()
        self.highlighted: tuple[int, str] | None = None
        self.names: dict[int, str] = {}
        self._land_on: str | None = None  # an experiment just cloned or renamed

    def compose(self) -> ComposeResult:
        yield Table(id="experiments", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="experiment-detail"):
            yield Static("", id="experiment-counts")
            yield Static("", id="experiment-arms")
        yield Static("", id="experiment-commands")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "id", "name", "preset", "generated", "rejected", "created"
        )  # the list loads on screen resume, which also comes first time the screen shows
        # Jobs write while the user watches: counts and recent jobs follow on their own.
        self._changes = WorkspaceChanges(self.workspace.path)
        self._poll_changes()  # takes note of where the workspace stands now
        self.set_interval(REFRESH_S, self._refresh_if_written)

    def _refresh_if_written(self) -> None:
        if self.is_current:
            self._poll_changes()

    @work(thread=True, exclusive=True, group="experiments-changes", exit_on_error=False)
    def _poll_changes(self) -> None:
        if self._changes.changed():
            self.app.call_from_thread(self._reload_all)

    def _reload_all(self) -> None:
        """The list and the highlighted experiment's counts and recent jobs."""
        self.action_reload()
        if self.highlighted is not None:
            self._load_detail(self.highlighted[0], self.flames.selection)

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load_list()

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False)
    def _load_list(self) -> None:
        from storage.experiments import experiment_list

        with self.workspace.db() as db:
            rows = experiment_list(db)
        self.post_result(self.Listed(rows))

    def on_experiments_screen_listed(self, event: Listed) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.names = {int(str(r["id"])): str(r["name"]) for r in event.rows}
        for r in event.rows:
            marker = "● " if r["id"] == self.flames.experiment_id else "  "
            table.add_row(
                str(r["id"]),
                Text(marker + str(r["name"])),
                Text(str(r["preset"] or "-")),
                f"{int(str(r['generated'])):,}",
                f"{int(str(r['rejected'])):,}",
                str(r["created"]),
                key=str(r["id"]),
            )
        if not event.rows:
            self.highlighted = None
            self.query_one("#experiment-counts", Static).update(
                "No experiments yet. Press n to create one from a preset (quickstart, "
                "flames-paper), or run `flames experiment new`."
            )
            self.query_one("#experiment-arms", Static).update("")
            self.query_one("#experiment-commands", Static).update("")
            return
        ids = list(self.names)
        # The experiment just cloned or renamed (an older listing may arrive first: keep
        # waiting for its name), else the row the cursor was on, else the working one.
        wanted = next((i for i, n in self.names.items() if n == self._land_on), None)
        if wanted is not None:
            self._land_on = None
        elif self.highlighted is not None and self.highlighted[0] in self.names:
            wanted = self.highlighted[0]
        else:
            wanted = self.flames.experiment_id
        table.move_cursor(row=ids.index(wanted) if wanted in ids else 0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        experiment_id = int(event.row_key.value)
        name = self.names.get(experiment_id)
        if name is None:
            return
        self.highlighted = (experiment_id, name)
        self._load_detail(experiment_id, self.flames.selection)
        self._show_commands(name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_use()

    @work(thread=True, exclusive=True, group="experiment-detail", exit_on_error=False)
    def _load_detail(self, experiment_id: int, selection: Selection) -> None:
        from pipeline.problems.overview import stage_counts
        from storage.experiments import arm_rows
        from storage.jobs import list_jobs

        with self.workspace.db() as db:
            overview = Overview(
                counts=stage_counts(db, experiment_id, selection),
                arms=arm_rows(db, experiment_id),
                jobs=list_jobs(db, limit=5, experiment_id=experiment_id),
            )
        self.post_result(self.Detailed(experiment_id, overview))

    def on_experiments_screen_detailed(self, event: Detailed) -> None:
        if self.highlighted is None or self.highlighted[0] != event.experiment_id:
            return
        overview = event.overview
        policy = str(getattr(self.flames.selection.policy, "value", self.flames.selection.policy))
        self.query_one("#experiment-counts", Static).update(
            Content("\n").join(count_lines(overview.counts, policy))
        )
        lines = [Content.styled("Arms", "bold")]
        lines += [
            Content(
                f"  {arm['name']}{' (baseline)' if arm['is_baseline'] else ''}"
                f"  {arm['factor'] or ''}"
            )
            for arm in overview.arms
        ] or [Content("  none")]
        lines.append(Content.styled("Recent jobs", "bold"))
        lines += [
            Content(
                f"  job {job.id} {job.kind} {job.status_text} "
                f"{job.progress_done}/{job.progress_total or '?'}"
            )
            for job in overview.jobs
        ] or [Content("  none")]
        self.query_one("#experiment-arms", Static).update(Content("\n").join(lines))

    def _show_commands(self, name: str) -> None:
        lines = [
            Content.assemble(
                ("Launch in the background", "bold"), " (keeps running if the TUI closes):"
            )
        ]
        lines += [
            Content.assemble(
                "  ", (key, "bold"), " ", stage_command(stage, self.flames.db_path, name)
            )
            for stage, key in STAGE_KEYS.items()
        ]
        self.query_one("#experiment-commands", Static).update(Content("\n").join(lines))

    def action_use(self) -> None:
        if self.highlighted is not None:
            self.flames.set_experiment(*self.highlighted)
            self.notify(f"working on experiment '{self.highlighted[1]}'", timeout=3, markup=False)
            self._load_list()

    # -- stages -------------------------------------------------------------------------
    def action_launch(self, stage: str) -> None:
        if self.highlighted is None:
            self.notify("no experiment: press n to create one", severity="warning")
            return
        assert stage in STAGES
        experiment_id, name = self.highlighted
        self._launch(stage, experiment_id, name)

    @work(thread=True, group="experiment-launch", exit_on_error=False)
    def _launch(self, stage: str, experiment_id: int, name: str) -> None:
        command = stage_command(stage, self.flames.db_path, name)
        with self.workspace.db() as db:
            job_id = launch_job(
                db, self.flames.db_path, command, kind=stage, experiment_id=experiment_id
            )
        self.app.call_from_thread(
            self.notify, f"job {job_id} started: {command}  (see Jobs, 6)", timeout=5, markup=False
        )

    # -- create, clone, rename, delete ----------------------------------------------------
    def action_create(self) -> None:
        from workbench.tui.screens.create_experiment import CreateExperimentScreen

        self.app.push_screen(CreateExperimentScreen(), self._created)

    def _created(self, outcome: CreateOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.experiment is not None:
            self.flames.set_experiment(*outcome.experiment)
            self.action_reload()
        elif outcome.import_seed_set is not None:
            self.flames.open_seed_import(outcome.import_seed_set)

    def action_clone(self) -> None:
        self._ask_name("clone")

    def action_rename(self) -> None:
        self._ask_name("rename")

    def _ask_name(self, verb: str) -> None:
        from workbench.tui.screens.dialogs import NameScreen

        if self.highlighted is None:
            return
        _, name = self.highlighted
        title = f"{verb.title()} experiment '{name}' as"
        self.app.push_screen(
            NameScreen(title, f"{name}-copy" if verb == "clone" else name),
            lambda new_name: self._named(verb, name, new_name),
        )

    def _named(self, verb: str, name: str, new_name: str | None) -> None:
        if new_name and new_name != name:
            self._change(verb, name, new_name)

    def action_delete(self) -> None:
        from workbench.tui.screens.dialogs import ConfirmScreen

        if self.highlighted is None:
            return
        _, name = self.highlighted
        question = (
            f"Delete experiment '{name}' with its problems, solutions, scores and blends? "
            "Seed sets, templates and cached model replies stay."
        )
        self.app.push_screen(ConfirmScreen(question, "Delete"), self._confirmed_delete)

    def _confirmed_delete(self, yes: bool | None) -> None:
        if yes and self.highlighted is not None:
            self._change("delete", self.highlighted[1], None)

    @work(thread=True, exclusive=True, group="experiment-change", exit_on_error=False)
    def _change(self, verb: str, name: str, new_name: str | None) -> None:
        from pipeline.experiments import store

        with self.workspace.db() as db:
            if verb == "clone" and new_name is not None:
                store.clone_experiment(db, name, new_name)
            elif verb == "rename" and new_name is not None:
                store.rename_experiment(db, name, new_name)
            elif verb == "delete":
                store.delete_experiment(db, name)
        args = ["flames", "experiment", verb, name, *([new_name] if new_name else [])]
        if verb == "delete":
            args.append("--yes")
        self.app.call_from_thread(self._changed, verb, name, new_name, shlex.join(args))

    def _changed(self, verb: str, name: str, new_name: str | None, command: str) -> None:
        self.notify(f"{verb}d '{name}'  (CLI: {command})", timeout=4, markup=False)
        if verb == "rename" and self.flames.experiment_name == name:
            self.flames.set_experiment(self.flames.experiment_id, new_name)
        if verb == "delete" and self.flames.experiment_name == name:
            self.flames.set_experiment(None, None)
        self._land_on = new_name
        self.action_reload()
