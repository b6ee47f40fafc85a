"""The top line of every screen: which screens exist, their keys, where you are, on what.

It shrinks to fit: full names where the terminal is wide, short names at 80 columns, keys
alone (with the current screen named) below that; the working experiment's name stays on
the right and is cut last.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

# mode -> short name, for terminals too narrow for the full names.
SHORT: dict[str, str] = {
    "experiments": "Exp",
    "strategies": "Strat",
    "problems": "Prob",
    "seeds": "Seed",
    "filters": "Filt",
    "blend": "Blend",
    "jobs": "Jobs",
    "runs": "Runs",
    "results": "Res",
    "steps": "Step",
    "help": "",
}


def screen_entries() -> list[tuple[str, str, str]]:
    """(mode, key, full name) of every screen, in key order (from the palette's list)."""
    from workbench.tui.palette import SCREENS

    return [(mode, key, text.split(":")[0]) for mode, (key, text) in SCREENS.items()]


def bar_text(current: str | None, experiment: str | None, width: int) -> Text:
    """The bar for a terminal `width` columns wide (pure, so tests can check every width)."""
    entries = screen_entries()
    right = Text.assemble(("exp ", "dim"), (experiment or "none yet: 1 then n", "bold"))
    for style in ("full", "short", "compact", "keys"):
        left = Text(" ")
        for mode, key, name in entries:
            label = name if style == "full" else SHORT.get(mode, name)
            here = mode == current
            if style == "keys" and not here:
                label = ""
            left.append(key, style="bold reverse" if here else "bold")
            if label:
                joiner = "" if style == "compact" else " "
                left.append(f"{joiner}{label}", style="reverse" if here else "")
            left.append(" ")
        # The experiment's name may be cut to 12 columns before the screen names shrink.
        if left.cell_len + min(right.cell_len, 12) + 1 <= width or style == "keys":
            break
    room = max(0, width - left.cell_len - 1)
    if right.cell_len > room:
        right.truncate(room, overflow="ellipsis")
    gap = max(1, width - left.cell_len - right.cell_len)
    return Text.assemble(left, " " * gap, right)


class ScreenBar(Widget):
    """Docked at the top of every workbench screen."""

    DEFAULT_CSS = """
    ScreenBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def on_mount(self) -> None:
        app: Any = self.app
        if hasattr(app, "experiment_id"):
            self.watch(app, "experiment_id", self._experiment_changed, init=False)

    def _experiment_changed(self, _: object) -> None:
        self.refresh()

    def render(self) -> Text:
        app: Any = self.app
        mode = getattr(app, "current_mode", None)
        return bar_text(mode, getattr(app, "experiment_name", None), self.size.width)
