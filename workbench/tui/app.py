"""The FLAMES workbench: a Textual app whose screens are thin views over `pipeline`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlite_utils import Database
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from pipeline.errors import FlamesError
from pipeline.selection import Selection, experiment_selection
from storage.database import open_db
from storage.experiments import preferred_experiment
from storage.settings import get_setting, set_setting
from themes import DEFAULT_THEME, STYLESHEET
from workbench.tui import palette
from workbench.tui.screens.blend import BlendScreen
from workbench.tui.screens.experiments import ExperimentsScreen
from workbench.tui.screens.filters import FiltersScreen
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.problems import ProblemsScreen
from workbench.tui.screens.results import ResultsScreen
from workbench.tui.screens.runs import RunsScreen
from workbench.tui.screens.seeds import SeedsScreen
from workbench.tui.screens.steps import StepsScreen
from workbench.tui.screens.strategies import StrategiesScreen
from workbench.tui.signals import SignalCache
from workbench.tui.theming import load_themes
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.workspace import Workspace


class FlamesApp(App[None]):
    """Experiments, strategies, problems, filters, blend and jobs over one workspace."""

    TITLE = "FLAMES Workbench"
    CSS_PATH = str(STYLESHEET)
    MODES = {
        "experiments": ExperimentsScreen,
        "strategies": StrategiesScreen,
        "problems": ProblemsScreen,
        "filters": FiltersScreen,
        "blend": BlendScreen,
        "jobs": JobsScreen,
        "runs": RunsScreen,
        "results": ResultsScreen,
        "steps": StepsScreen,
        "seeds": SeedsScreen,
        "help": HelpScreen,
    }
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        Binding("1", "switch_mode('experiments')", "Experiments", id="app.experiments"),
        Binding("2", "switch_mode('strategies')", "Strategies", id="app.strategies"),
        Binding("3", "switch_mode('problems')", "Problems", id="app.problems"),
        Binding("4", "switch_mode('filters')", "Filters", id="app.filters"),
        Binding("5", "switch_mode('blend')", "Blend", id="app.blend"),
        Binding("6", "switch_mode('jobs')", "Jobs", id="app.jobs"),
        Binding("7", "switch_mode('runs')", "Runs", id="app.runs"),
        Binding("8", "switch_mode('results')", "Results", id="app.results"),
        Binding("9", "switch_mode('steps')", "Steps", id="app.steps"),
        Binding("0", "switch_mode('seeds')", "Seeds", id="app.seeds"),
        Binding("question_mark,f1", "switch_mode('help')", "Help", id="app.help"),
        Binding("f2", "more_keys", "More keys", show=False, id="app.more_keys"),
    ]

    experiment_id: reactive[int | None] = reactive(None)
    selection: reactive[Selection] = reactive(Selection)

    def __init__(
        self, db_path: str | Path, *, start: str | None = None, cursor_blink: bool = True
    ) -> None:
        super().__init__()
        self.db_path = str(db_path)
        self.workspace = Workspace(db_path)
        self.signals = SignalCache()
        self.cursor_blink = cursor_blink
        self._start = start
        for theme in load_themes():
            self.register_theme(theme)
        db = open_db(db_path)  # migrate once, up front, on the main thread
        self.theme = get_setting(db, "theme", DEFAULT_THEME) or DEFAULT_THEME
        found = preferred_experiment(db, get_setting(db, "experiment_id"))
        self.experiment_id = found[0] if found else None
        self.experiment_name: str | None = found[1] if found else None
        self.selection = self._config_selection(db, self.experiment_id)
        self._last_mode = get_setting(db, "mode", "experiments") or "experiments"
        self.pending_seed_import: str | None = None  # a seed set the Seeds screen should offer
        db.conn.close()

    def on_mount(self) -> None:
        from workbench.tui.job_watch import JobWatch

        JobWatch(self).start()  # a job that ends is news on every screen
        if self._start in self.MODES:
            self.switch_mode(self._start)
        else:
            last = self._last_mode
            self.switch_mode(last if last in self.MODES and last != "help" else "experiments")

    def watch_theme(self, theme: str) -> None:
        if theme:
            self._save_setting("theme", theme)

    def watch_experiment_id(self, experiment_id: int | None) -> None:
        if experiment_id is not None:
            self._save_setting("experiment_id", str(experiment_id))

    def _save_setting(self, key: str, value: str) -> None:
        if not self.is_running:
            return
        self.run_worker(
            lambda: self._write_setting(key, value),
            thread=True,
            group=f"setting-{key}",
            exclusive=True,
            exit_on_error=False,
        )

    def _write_setting(self, key: str, value: str) -> None:
        with self.workspace.db() as db:
            set_setting(db, key, value)

    def switch_mode(self, mode: str):  # type: ignore[no-untyped-def]
        if mode != "help":
            self._last_mode = mode
            self._save_setting("mode", mode)
        return super().switch_mode(mode)

    def set_experiment(self, experiment_id: int | None, name: str | None) -> None:
        """Make every screen work on this experiment (and remember it); None: no experiment."""
        self.experiment_name = name
        self.experiment_id = experiment_id
        with self.workspace.db() as db:  # one small row: the experiment's [filter] config
            self.selection = self._config_selection(db, experiment_id)

    @staticmethod
    def _config_selection(db: Database, experiment_id: int | None) -> Selection:
        """The experiment's [filter] as the starting selection of every screen."""
        if experiment_id is None:
            return Selection()
        try:
            return experiment_selection(db, experiment_id)
        except FlamesError:  # a config that no longer validates: defaults, the CLI says why
            return Selection()

    def open_seed_import(self, seed_set: str) -> None:
        """Go to Seeds with the import form open for `seed_set` (a preset needs it)."""
        self.pending_seed_import = seed_set
        self.switch_mode("seeds")

    def action_more_keys(self) -> None:
        """Page the key bar of the screen in front."""
        for bar in self.screen.query(KeyBar):
            bar.next_page()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from palette.commands(self, screen)

    async def action_quit(self) -> None:
        """Quit now: abort queries still running in worker threads first."""
        self.workspace.interrupt()
        await super().action_quit()

    def on_unmount(self) -> None:
        self.workspace.close()
