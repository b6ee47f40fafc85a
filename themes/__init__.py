"""Workbench themes as data (`themes.toml`) and the app stylesheet (`flames.tcss`).

This package never imports textual: `workbench.tui.theming` turns the data into Themes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
STYLESHEET = HERE / "flames.tcss"
THEMES_FILE = HERE / "themes.toml"
DEFAULT_THEME = "flames-dark"


def theme_data() -> dict[str, dict[str, Any]]:
    """Theme name -> its fields (colours, `dark`, a short `label`)."""
    with open(THEMES_FILE, "rb") as handle:
        return tomllib.load(handle)
