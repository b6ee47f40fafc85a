"""Help: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from workbench.tui.screens.base import WorkbenchScreen


def _rows(title: str, bindings: list[Binding]) -> list[str]:
    lines = [f"[b $accent]{title}[/]"]
    for b in bindings:
        keys = ", ".join(k.replace("_", " ") for k in b.key.split(","))
        lines.append(f"  [b]{keys:<22}[/] {b.description or b.action}")
    return lines


class HelpScreen(WorkbenchScreen):
    """The key map, generated from each screen's BINDINGS (so it is never out of date)."""

    FOCUS = "#help"
    BINDINGS = [Binding("escape,q", "back", "Back", id="help.back")]

    def compose(self) -> ComposeResult:
        from workbench.tui.app import FlamesApp
        from workbench.tui.screens.blend import BlendScreen
        from workbench.tui.screens.experiments import ExperimentsScreen
        from workbench.tui.screens.filters import FiltersScreen
        from workbench.tui.screens.inspector import InspectorScreen
        from workbench.tui.screens.jobs import JobsScreen
        from workbench.tui.screens.problems import ProblemsScreen
        from workbench.tui.screens.strategies import StrategiesScreen
        from workbench.tui.widgets.problem_table import ProblemTable

        sections: list[tuple[str, list[Binding]]] = [
            (
                "Everywhere",
                [b for b in FlamesApp.BINDINGS if isinstance(b, Binding)]
                + [
                    Binding("ctrl+p", "command_palette", "Command palette: every screen and action")
                ],
            ),
            ("Experiments", ExperimentsScreen.BINDINGS),
            ("Strategies", StrategiesScreen.BINDINGS),
            ("Problems", ProblemsScreen.BINDINGS),
            ("Problem table", ProblemTable.BINDINGS),
            ("Inspector", InspectorScreen.BINDINGS),
            ("Filters", FiltersScreen.BINDINGS),
            ("Blend", BlendScreen.BINDINGS),
            ("Jobs", JobsScreen.BINDINGS),
        ]
        lines = ["[b]FLAMES Workbench keys[/]  (tab / shift+tab move between fields)", ""]
        for title, bindings in sections:
            lines += _rows(title, [b for b in bindings if isinstance(b, Binding)]) + [""]
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines), id="help-text")
        yield Footer()

    def action_back(self) -> None:
        self.app.switch_mode(getattr(self.app, "_last_mode", "experiments"))
