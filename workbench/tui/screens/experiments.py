"""Experiments: the list, arms, per-stage counts and status; create; launch stages as jobs."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import DataTable, Footer, Static

from pipeline.selection import JOINS, Selection, kept_condition
from workbench.jobs.launcher import STAGES, launch_job, stage_command
from workbench.tui.changes import WorkspaceChanges
from workbench.tui.screens.base import WorkbenchScreen

STAGE_KEYS = {"generate": "g", "solve": "s", "filter": "f", "dedup": "d", "decontaminate": "c"}
REFRESH_S = 2.0  # how often the screen asks whether anything was written (no table is read)


def experiment_summary(db: Any, experiment_id: int, selection: Selection) -> dict[str, Any]:
    """Arms, per-stage counts and recent jobs of one experiment (one worker call)."""
    condition, params = kept_condition(selection)
    row = db.execute(
        "SELECT COUNT(*), SUM(p.status = 'ok'), SUM(p.status = 'rejected'), "
        "SUM(s.n_solutions > 0), SUM(s.nn_sim IS NOT NULL OR s.is_exact_dup IS NOT NULL), "
        "SUM(s.decontam_overlap IS NOT NULL), SUM(s.judge_score IS NOT NULL), "
        f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) FROM problems p {JOINS} "
        "WHERE p.experiment_id = ?",
        [*params, experiment_id],
    ).fetchone()
    names = (
        "generated",
        "ok",
        "rejected",
        "solved",
        "dedup checked",
        "decontam checked",
        "judged",
        "kept",
    )
    arms = db.execute(
        "SELECT name, factor, is_baseline FROM arms WHERE experiment_id = ? ORDER BY id",
        [experiment_id],
    ).fetchall()
    jobs = db.execute(
        "SELECT id, kind, status, progress_done, progress_total FROM jobs "
        "WHERE experiment_id = ? ORDER BY id DESC LIMIT 5",
        [experiment_id],
    ).fetchall()
    return {
        "counts": dict(zip(names, [int(v or 0) for v in row], strict=True)),
        "arms": arms,
        "jobs": jobs,
    }


class ExperimentsScreen(WorkbenchScreen):
    """Pick the experiment every screen works on; launch its stages in the background."""

    FOCUS = "#experiments"
    BINDINGS = [
        Binding("enter", "use", "Use experiment", id="experiments.use"),
        Binding("n", "create", "New from preset", id="experiments.new"),
        *[
            Binding(key, f"launch('{stage}')", stage.title(), id=f"experiments.{stage}")
            for stage, key in STAGE_KEYS.items()
        ],
        Binding("ctrl+r", "reload", "Refresh", id="experiments.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.highlighted: tuple[int, str] | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="experiments", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="experiment-detail"):
            yield Static("", id="experiment-counts")
            yield Static("", id="experiment-arms")
        yield Static("", id="experiment-commands")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("id", "name", "preset", "problems", "created")
        self.action_reload()
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
        with self.workspace.db() as db:
            rows = db.execute(
                "SELECT e.id, e.name, COALESCE(e.preset, '-'), (SELECT COUNT(*) FROM problems p "
                "WHERE p.experiment_id = e.id), substr(e.created_at, 1, 16) FROM experiments e "
                "ORDER BY e.id"
            ).fetchall()
        self.app.call_from_thread(self._show_list, rows)

    def _show_list(self, rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            marker = "● " if r[0] == self.flames.experiment_id else "  "
            table.add_row(str(r[0]), marker + str(r[1]), r[2], f"{r[3]:,}", r[4], key=str(r[0]))
        if not rows:
            self.query_one("#experiment-counts", Static).update(
                "No experiments yet. Press n to create one from a preset (quickstart, "
                "flames-paper), or run `flames experiment new`."
            )
            self.query_one("#experiment-commands", Static).update("")
            return
        current = next((i for i, r in enumerate(rows) if r[0] == self.flames.experiment_id), 0)
        table.move_cursor(row=current)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        experiment_id = int(event.row_key.value)
        name = str(self.query_one(DataTable).get_row(event.row_key)[1]).strip("● ").strip()
        self.highlighted = (experiment_id, name)
        self._load_detail(experiment_id, self.flames.selection)
        self._show_commands(name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_use()

    @work(thread=True, exclusive=True, group="experiment-detail", exit_on_error=False)
    def _load_detail(self, experiment_id: int, selection: Selection) -> None:
        with self.workspace.db() as db:
            summary = experiment_summary(db, experiment_id, selection)
        self.app.call_from_thread(self._show_detail, summary)

    def _show_detail(self, summary: dict[str, Any]) -> None:
        lines = ["[b]Stages[/]"] + [f"  {k:<17} {v:>10,}" for k, v in summary["counts"].items()]
        self.query_one("#experiment-counts", Static).update("\n".join(lines))
        arms = [
            f"  {escape(str(n))}{' (baseline)' if b else ''}  {escape(str(f or ''))}"
            for n, f, b in summary["arms"]
        ] or ["  none"]
        jobs = [f"  job {i} {k} {s} {d}/{t or '?'}" for i, k, s, d, t in summary["jobs"]] or [
            "  none"
        ]
        self.query_one("#experiment-arms", Static).update(
            "\n".join(["[b]Arms[/]", *arms, "[b]Recent jobs[/]", *jobs])
        )

    def _show_commands(self, name: str) -> None:
        lines = ["[b]Launch in the background[/] (keeps running if the TUI closes):"]
        lines += [
            f"  [b]{key}[/] {escape(stage_command(stage, self.flames.db_path, name))}"
            for stage, key in STAGE_KEYS.items()
        ]
        self.query_one("#experiment-commands", Static).update("\n".join(lines))

    def action_use(self) -> None:
        if self.highlighted is not None:
            self.flames.set_experiment(*self.highlighted)
            self.notify(f"working on experiment '{self.highlighted[1]}'", timeout=3)
            self._load_list()

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
            self.notify, f"job {job_id} started: {command}  (see Jobs, 6)", timeout=5
        )

    def action_create(self) -> None:
        from workbench.tui.screens.create_experiment import CreateExperimentScreen

        self.app.push_screen(CreateExperimentScreen(), self._created)

    def _created(self, result: tuple[int, str] | None) -> None:
        if result is not None:
            self.flames.set_experiment(*result)
            self.action_reload()
