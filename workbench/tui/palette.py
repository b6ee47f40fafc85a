"""Command palette entries: every screen, every screen's actions, and the themes.

Entries speak the user's language: a binding's description (or tooltip) and its keys as
they are written on the keyboard, never an action's method name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.markup import escape
from textual.screen import Screen

from workbench.tui.keys import binding_keys, bindings_of
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
    "runs": ("7", "Runs: training curves, checkpoints, GPU; launch flames run"),
    "results": ("8", "Results: arms x benchmarks, deltas, scaling, items"),
    "steps": ("9", "Steps: per-step DPO traces, values, critical steps, rollouts"),
    "seeds": ("0", "Seeds: import, list and inspect seed sets"),
    "help": ("?", "Help: every key"),
}


def screen_title(screen: Screen[object]) -> str:
    """`ExperimentsScreen` -> `Experiments`, `CreateExperimentScreen` -> `Create Experiment`."""
    name = screen.__class__.__name__.removesuffix("Screen")
    return "".join(f" {c}" if c.isupper() and i else c for i, c in enumerate(name))


def commands(app: FlamesApp, screen: Screen[object]) -> Iterable[SystemCommand]:
    """Palette entries for the app as it is now."""
    for mode, (key, text) in SCREENS.items():
        yield SystemCommand(
            f"Go to {mode.title()}  ({key})", text, lambda m=mode: app.switch_mode(m)
        )
    for name, label in theme_labels().items():
        yield SystemCommand(
            f"Theme: {label}",
            f"Switch to the {label} theme (saved)",
            lambda n=name: setattr(app, "theme", n),
        )
    seen: set[str] = set()
    title = screen_title(screen)
    for binding in bindings_of(screen.BINDINGS):
        if binding.action in seen or not binding.description:
            continue
        seen.add(binding.action)
        # The palette reads titles and help as markup: keys go in parentheses (`[/]` would be
        # a closing tag) and the words are escaped.
        yield SystemCommand(
            escape(f"{title}: {binding.description}  ({binding_keys(binding)})"),
            escape(binding.tooltip or f"{binding.description} on the {title} screen"),
            lambda a=binding.action, s=screen: app.call_later(s.run_action, a),
        )
    yield SystemCommand(
        "Quit  (ctrl+q)", "Leave the workbench (background jobs keep running)", app.action_quit
    )
