"""Command palette entries: every screen, every screen's actions, and the themes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

from workbench.tui.theming import theme_labels

if TYPE_CHECKING:
    from workbench.tui.app import FlamesApp

SCREENS: dict[str, tuple[str, str]] = {
    "experiments": ("1", "Experiments: list, arms, stage counts, launch stages"),
    "strategies": ("2", "Strategies: enable, budgets, params, prompt templates"),
    "problems": ("3", "Problems: browse, search, filter, inspect"),
    "filters": ("4", "Filters: thresholds and policies with live counts"),
    "blend": ("5", "Blend: ratios, budget, FLAMES preset, export"),
    "jobs": ("6", "Jobs: background work, progress, logs, cancel, resume"),
    "help": ("?", "Help: every key"),
}


def commands(app: FlamesApp, screen: Screen[object]) -> Iterable[SystemCommand]:
    """Palette entries for the app as it is now."""
    for mode, (key, text) in SCREENS.items():
        yield SystemCommand(
            f"Go to {mode.title()}  [{key}]", text, lambda m=mode: app.switch_mode(m)
        )
    for name, label in theme_labels().items():
        yield SystemCommand(
            f"Theme: {label}",
            f"Switch to the {label} theme (saved)",
            lambda n=name: setattr(app, "theme", n),
        )
    seen: set[str] = set()
    for binding in screen.BINDINGS:
        if not hasattr(binding, "action"):
            continue
        action, description = binding.action, binding.description  # type: ignore[union-attr]
        if action in seen or not description:
            continue
        seen.add(action)
        yield SystemCommand(
            f"{screen.__class__.__name__.removesuffix('Screen')}: {description}  [{binding.key}]",  # type: ignore[union-attr]
            f"run '{action}' on this screen",
            lambda a=action, s=screen: app.call_later(s.run_action, a),
        )
    yield SystemCommand(
        "Quit  [ctrl+q]", "Leave the workbench (background jobs keep running)", app.action_quit
    )
