"""A block of text from the data, its LaTeX shown as Unicode or raw (one key toggles it)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from workbench.tui.maths import render_maths

# The key every screen showing maths binds to flip between Unicode and the raw source.
RAW_KEY = "backslash"
RAW_KEY_LABEL = "\\"


class MathText(Static):
    """Problems, solutions, model outputs: never read as markup, maths rendered by default."""

    raw: reactive[bool] = reactive(False)

    def __init__(
        self, text: str = "", *, raw: bool = False, id: str | None = None, classes: str = ""
    ) -> None:
        super().__init__("", markup=False, id=id, classes=classes)
        self._source = text
        self.set_reactive(MathText.raw, raw)

    @property
    def source(self) -> str:
        """The text as stored."""
        return self._source

    def set_text(self, text: str) -> None:
        """Show another text (keeping the raw/maths choice)."""
        self._source = text
        self._show()

    def on_mount(self) -> None:
        self._show()

    def watch_raw(self) -> None:
        self._show()

    def _show(self) -> None:
        shown = self._source if self.raw else render_maths(self._source)
        self.update(Text(shown))


def toggle_raw(widgets: list[MathText]) -> bool:
    """Flip every given MathText between maths and raw; returns the new state (True: raw)."""
    raw = not (widgets[0].raw if widgets else False)
    for widget in widgets:
        widget.raw = raw
    return raw
