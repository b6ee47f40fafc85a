"""A compact Input whose cursor blink follows the app (off for snapshot tests)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class Field(Input):
    """A one-line text input without borders, so forms fit in 80x24."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*args, **kwargs)

    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "cursor_blink", True))
