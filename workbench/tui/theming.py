"""Textual Themes built from the data in `themes/themes.toml`."""

from __future__ import annotations

from textual.theme import Theme

from themes import theme_data

_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
)


def load_themes() -> list[Theme]:
    """Every workbench theme, in file order."""
    themes = []
    for name, data in theme_data().items():
        themes.append(Theme(name=name, **{k: v for k, v in data.items() if k in _FIELDS}))
    return themes


def theme_labels() -> dict[str, str]:
    """Theme name -> short label shown in the palette (dark, light, high contrast)."""
    return {name: str(data.get("label", name)) for name, data in theme_data().items()}
