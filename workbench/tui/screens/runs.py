"""Runs: training runs with live loss and reward-margin curves, checkpoints, GPU; launch form.

The form builds a `flames run` command for the experiment or one arm and shows it before
launching it as a background job (it keeps running if the TUI closes); the highlighted
run's job can be cancelled and resumed. Curves are re-read from `training_metrics` each
second (only the new tail of each series).
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from pipeline.flow.commands import ACTIONS, flow_command
from pipeline.jobs.control import cancel_job
from storage.experiments import arm_rows
from storage.training import (
    CheckpointRow,
    TrainingRunRow,
    latest_metrics,
    list_checkpoints,
    list_runs,
    metric_series,
)
from workbench.jobs.launcher import launch_job, resume_job
from workbench.tui.gpu import gpu_lines
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table

REFRESH_S = 1.0
# The curves drawn, in order, when a run logged them (TRL's names).
CURVES = ("loss", "rewards/margins")


def rate_and_eta(run: TrainingRunRow, now: datetime) -> tuple[float | None, float | None]:
    """Steps per second since the run started, and seconds left (None where unknown)."""
    if not run.started_at or run.last_step <= 0:
        return None, None
    started = datetime.fromisoformat(run.started_at.replace("Z", "+00:00"))
    ended = datetime.fromisoformat(run.ended_at.replace("Z", "+00:00")) if run.ended_at else now
    seconds = (ended - started).total_seconds()
    if seconds <= 0:
        return None, None
    rate = run.last_step / seconds
    if run.total_steps is None or run.status != "running":
        return rate, None
    return rate, max(0.0, (run.total_steps - run.last_step) / rate)


class RunsScreen(WorkbenchScreen):
    """Training runs of the working experiment, live."""

    FOCUS = "#runs"
    DEFAULT_CSS = """
    RunsScreen #runs { height: auto; max-height: 6; }
    RunsScreen #runs-body { height: 1fr; }
    RunsScreen #runs-curve { width: 1fr; }
    RunsScreen #runs-side { width: 38; padding: 0 1; }
    RunsScreen #runs-gpu { margin-top: 1; color: $text-muted; }
    RunsScreen #runs-form { height: 2; padding: 0 1; background: $panel; }
    """
    BINDINGS = [
        Binding("a", "next_action", "Action", id="runs.action"),
        Binding("m", "next_arm", "Arm", id="runs.arm"),
        Binding("l", "launch", "Launch", id="runs.launch"),
        Binding("c", "cancel", "Cancel job", id="runs.cancel"),
        Binding("r", "resume", "Resume job", id="runs.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.action_name = "run"
        self.arms: list[str] = []
        self.arm_names: dict[int, str] = {}
        self.arm_index = 0  # 0: every arm
        self.selected: int | None = None
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.runs: list[TrainingRunRow] = []

    def compose(self) -> ComposeResult:
        yield Table(id="runs", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="runs-body"):
            yield PlotextPlot(id="runs-curve")
            with Vertical(id="runs-side"):
                yield Static("", id="runs-stats", markup=False)
                yield Static("", id="runs-gpu", markup=False)
        yield Static("", id="runs-form", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for name, width in (("run", 4), ("arm", 16), ("method", 8), ("status", 9), ("step", 9)):
            table.add_column(name, width=width)  # fixed: live updates never shift the layout
        self.set_interval(REFRESH_S, self._refresh)
        self._load_gpu()  # the runs load on screen resume, which also comes the first time

    def on_screen_resume(self) -> None:
        self._tick()

    @property
    def arm(self) -> str | None:
        return self.arms[self.arm_index - 1] if 0 < self.arm_index <= len(self.arms) else None

    def command(self) -> str | None:
        name = self.flames.experiment_name
        if name is None:
            return None
        return flow_command(self.action_name, name, arm=self.arm, db=self.flames.db_path)

    def _refresh(self) -> None:
        # A slow load still in flight shows first (see `load_in_flight`).
        if not self.load_in_flight("runs"):
            self._tick()

    def _tick(self) -> None:
        if self.is_current:
            self._load(self.flames.experiment_id, self.selected, dict(self.series))

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def _load(
        self,
        experiment_id: int | None,
        selected: int | None,
        series: dict[str, list[tuple[int, float]]],
    ) -> None:
        with self.workspace.db() as db:
            runs = list_runs(db, experiment_id=experiment_id) if experiment_id else []
            rows = arm_rows(db, experiment_id) if experiment_id else []
            arms = {int(a["id"]): str(a["name"]) for a in rows}
            run = next((r for r in runs if r.id == selected), runs[0] if runs else None)
            checkpoints: list[CheckpointRow] = []
            latest: dict[str, float] = {}
            if run is not None:
                if run.id != selected:
                    series = {}
                for name in CURVES:
                    have = series.get(name, [])
                    tail = metric_series(db, run.id, name, after_step=have[-1][0] if have else -1)
                    series[name] = have + tail
                checkpoints = list_checkpoints(db, run.id)
                latest = latest_metrics(db, run.id)
        self.show_result(self._show, runs, arms, run, series, checkpoints, latest)

    @work(thread=True, exclusive=True, group="runs-gpu", exit_on_error=False)
    def _load_gpu(self) -> None:
        lines = gpu_lines()
        self.show_result(self.query_one("#runs-gpu", Static).update, "\n".join(lines))

    def _show(
        self,
        runs: list[TrainingRunRow],
        arms: dict[int, str],
        run: TrainingRunRow | None,
        series: dict[str, list[tuple[int, float]]],
        checkpoints: list[CheckpointRow],
        latest: dict[str, float],
    ) -> None:
        self.arms = list(arms.values())
        self.arm_names = arms
        self._show_form()
        table = self.query_one("#runs", DataTable)
        if [(r.id, r.status, r.last_step) for r in runs] != [
            (r.id, r.status, r.last_step) for r in self.runs
        ]:
            cursor = table.cursor_row
            table.clear()
            for r in runs:
                step = f"{r.last_step}/{r.total_steps or '?'}"
                table.add_row(str(r.id), self._arm_name(r), r.method, r.status, step, key=str(r.id))
            if runs:
                table.move_cursor(row=min(cursor, len(runs) - 1))
            self.runs = runs
        self.selected = run.id if run else None
        self.series = series
        self._draw(series)
        stats = self.query_one("#runs-stats", Static)
        if run is None:
            stats.update(
                "No training runs yet. Press l to launch the command below "
                "(a = which stages, m = which arm)."
            )
            return
        rate, eta = rate_and_eta(run, datetime.now(UTC))
        lines = [
            f"run {run.id} {run.method} ({run.trainer}) {run.status}",
            f"step {run.last_step}/{run.total_steps or '?'}"
            + (f"  {rate:.2f} steps/s" if rate else "")
            + (f"  ETA {int(eta) // 60}m{int(eta) % 60:02d}s" if eta is not None else ""),
            *(f"{name} {value:.4g}" for name, value in sorted(latest.items())[:4]),
            f"checkpoints ({len(checkpoints)}):",
            *(
                f"  step {c.step}: "
                + (f"score {c.score:.3f}" if c.score is not None else "not scored")
                + (" ◆best" if run.best_step == c.step else "")
                for c in checkpoints[-4:]
            ),
        ]
        if run.job_id is not None:
            lines.append(f"c/r: flames jobs cancel|resume {run.job_id}")
        if run.error:
            lines.append(f"error: {run.error[:120]}")
        stats.update("\n".join(lines))

    def _arm_name(self, run: TrainingRunRow) -> str:
        """The arm's name (a run keeps its arm's id; the name can change with a rename)."""
        if run.arm_id is not None and run.arm_id in self.arm_names:
            return self.arm_names[run.arm_id]
        return str(run.config.get("arm") or (f"arm {run.arm_id}" if run.arm_id else "-"))

    def _draw(self, series: dict[str, list[tuple[int, float]]]) -> None:
        plot = self.query_one("#runs-curve", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        drawn = False
        for name in CURVES:
            points = series.get(name) or []
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], label=name)
                drawn = True
        plt.title("loss and DPO reward margin by step" if drawn else "no curve yet")
        plt.xlabel("step")
        plot.refresh()

    def _show_form(self) -> None:
        command = self.command()
        what = ACTIONS[self.action_name][0]
        target = self.arm or "every arm"
        self.query_one("#runs-form", Static).update(
            f"a action: {self.action_name} ({what})   m arm: {target}\n"
            + (
                f"l launches: {command}"
                if command
                else "no experiment: pick one on Experiments (1)"
            )
        )

    def action_next_action(self) -> None:
        names = list(ACTIONS)
        self.action_name = names[(names.index(self.action_name) + 1) % len(names)]
        self._show_form()

    def action_next_arm(self) -> None:
        self.arm_index = (self.arm_index + 1) % (len(self.arms) + 1)
        self._show_form()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and int(event.row_key.value) != self.selected:
            self.selected = int(event.row_key.value)
            self.series = {}
            self._tick()

    def action_launch(self) -> None:
        command = self.command()
        if command is None:
            self.notify("no experiment: pick one on Experiments (1)", severity="warning")
            return
        self._launch(command, self.flames.experiment_id)

    @work(thread=True, group="runs-launch", exit_on_error=False)
    def _launch(self, command: str, experiment_id: int | None) -> None:
        with self.workspace.db() as db:
            job = launch_job(
                db, self.flames.db_path, command, kind="run", experiment_id=experiment_id
            )
        self.app.call_from_thread(self.notify, f"job {job}: {command}", timeout=5)

    def _job_of_selected(self) -> int | None:
        run = next((r for r in self.runs if r.id == self.selected), None)
        return run.job_id if run else None

    def action_cancel(self) -> None:
        job = self._job_of_selected()
        if job is None:
            self.notify("this run has no job to cancel (see Jobs, 6)", severity="warning")
            return
        self._job_action("cancel", job)

    def action_resume(self) -> None:
        job = self._job_of_selected()
        if job is None:
            self.notify("this run has no job to resume: l launches it again", severity="warning")
            return
        self._job_action("resume", job)

    @work(thread=True, group="runs-job", exit_on_error=False)
    def _job_action(self, action: str, job: int) -> None:
        with self.workspace.db() as db:
            if action == "cancel":
                cancel_job(db, job)
                text = f"job {job} cancelled; r resumes it"
            else:
                text = f"job {job} resumed as job {resume_job(db, self.flames.db_path, job)}"
        self.app.call_from_thread(self.notify, text, timeout=4)
