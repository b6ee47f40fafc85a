"""Help: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from workbench.tui.keys import binding_keys, bindings_of
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.key_bar import KeyBar

KEY_COLUMN = 22


def key_rows(title: str, bindings: list[Binding]) -> list[Content]:
    """A section of the key map: its title, then one line per binding (keys as keys)."""
    rows = [Content.styled(title, "bold $accent")]
    for binding in bindings:
        keys = binding_keys(binding)
        rows.append(
            Content.assemble(
                "  ",
                (f"{keys:<{KEY_COLUMN}}", "bold"),
                " ",
                binding.description or binding.action,
                (f"  {binding.tooltip}" if binding.tooltip else "", "dim"),
            )
        )
    return rows


def sections() -> list[tuple[str, list[Binding]]]:
    """(screen title, its bindings), in the order of the screens."""
    from workbench.tui.app import FlamesApp
    from workbench.tui.screens.blend import BlendScreen
    from workbench.tui.screens.experiments import ExperimentsScreen
    from workbench.tui.screens.filters import FiltersScreen
    from workbench.tui.screens.inspector import InspectorScreen
    from workbench.tui.screens.jobs import JobsScreen
    from workbench.tui.screens.problems import ProblemsScreen
    from workbench.tui.screens.seeds import SeedsScreen
    from workbench.tui.screens.strategies import StrategiesScreen
    from workbench.tui.widgets.problem_table import ProblemTable

    everywhere = bindings_of(FlamesApp.BINDINGS) + [
        Binding("ctrl+p", "command_palette", "Command palette: every screen and action")
    ]
    return [
        ("Everywhere", everywhere),
        ("Experiments", bindings_of(ExperimentsScreen.BINDINGS)),
        ("Seeds", bindings_of(SeedsScreen.BINDINGS)),
        ("Strategies", bindings_of(StrategiesScreen.BINDINGS)),
        ("Problems", bindings_of(ProblemsScreen.BINDINGS)),
        ("Problem table", bindings_of(ProblemTable.BINDINGS)),
        ("Inspector", bindings_of(InspectorScreen.BINDINGS)),
        ("Filters", bindings_of(FiltersScreen.BINDINGS)),
        ("Blend", bindings_of(BlendScreen.BINDINGS)),
        ("Jobs", bindings_of(JobsScreen.BINDINGS)),
    ]


class HelpScreen(WorkbenchScreen):
    """The key map, generated from each screen's BINDINGS (so it is never out of date)."""

    FOCUS = "#help"
    BINDINGS = [Binding("escape,q", "back", "Back", id="help.back")]

    def compose(self) -> ComposeResult:
        lines: list[Content] = [
            Content.assemble(
                ("FLAMES Workbench keys", "bold"),
                "  (tab / shift+tab move between fields; f2 pages the key bar)",
            ),
            Content(""),
        ]
        for title, bindings in sections():
            lines += [*key_rows(title, bindings), Content("")]
        with VerticalScroll(id="help"):
            yield Static(Content("\n").join(lines), id="help-text")
        yield KeyBar()

    def action_back(self) -> None:
        self.app.switch_mode(getattr(self.app, "_last_mode", "experiments"))
