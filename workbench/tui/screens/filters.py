"""Filters: the policy and every threshold, live kept/dropped counts, a histogram, examples.

The controls are the fields of `Selection`, spelled as in the config and on the command line;
the selection starts as the experiment's `[filter]` and each change is one numpy re-count
(`pipeline.selection.index`) that applies everywhere (Problems, Blend). The "CLI:" line is
the `flames filter` command that keeps exactly what this screen shows.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import replace
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Select, Sparkline, Static

from pipeline.errors import FlamesError
from pipeline.selection import (
    FLAGS,
    THRESHOLD_COLUMNS,
    THRESHOLD_KINDS,
    THRESHOLDS,
    Policy,
    Selection,
    examples_near,
)
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table

STEP = 0.01
# Threshold field -> what its histogram shows.
LABELS = {
    "judge_min": "judge score",
    "near_dup_max": "near-dup similarity",
    "decontam_max": "decontamination overlap",
}
# Switch field -> the key that toggles it.
SWITCH_KEYS = {"drop_exact_dups": "x", "allow_truncated": "t", "honour_marks": "m"}


def nudged(kind: str, value: float | None, direction: int) -> float | None:
    """A threshold moved one step; past its end it turns off (and comes back from there).

    A floor (`judge_min`) turns off below 0; a ceiling (`near_dup_max`) above 1.
    """
    off_side = -1 if kind == "min" else 1
    if value is None:
        return None if direction == off_side else (0.0 if kind == "min" else 1.0)
    moved = round(value + direction * STEP, 4)
    if moved < 0.0 or moved > 1.0:
        return None if direction == off_side else min(1.0, max(0.0, moved))
    return moved


def shown(value: float | None) -> str:
    """A threshold as the screen shows it: two decimals, or `off`."""
    return "off" if value is None else f"{value:.2f}"


def filter_command(db_path: str, experiment: str, selection: Selection) -> str:
    """The `flames filter` line that keeps what the screen keeps."""
    return shlex.join(["flames", "filter", experiment, "--db", db_path, *selection.cli_args()])


class FiltersScreen(WorkbenchScreen):
    """Tune what is kept; each change is one re-count and applies everywhere."""

    class Counted(Message):
        """A worker finished counting a selection."""

        def __init__(
            self,
            selection: Selection,
            counts: list[tuple[str, int, int]],
            truncated: int,
            hist: tuple[list[int], float, float],
            examples: tuple[list[tuple[int, float, str]], list[tuple[int, float, str]]],
            field: str,
            timing: tuple[float, float, int],
        ) -> None:
            super().__init__()
            self.selection = selection
            self.counts = counts
            self.truncated = truncated  # kept only if truncated solutions were allowed
            self.hist = hist
            self.examples = examples
            self.field = field
            self.counts_ms, self.total_ms, self.size = timing

    FOCUS = "#counts"
    DEFAULT_CSS = """
    FiltersScreen #filter-scroll { height: 1fr; }
    FiltersScreen #switches, FiltersScreen #filter-command { height: auto; padding: 0 1; }
    FiltersScreen #threshold-row { height: 1; }
    """
    BINDINGS = [
        Binding("plus,equals_sign", "nudge(1)", "+0.01", id="filters.up"),
        Binding("minus", "nudge(-1)", "-0.01", id="filters.down"),
        Binding("p", "cycle_policy", "Policy", id="filters.policy"),
        Binding("h", "cycle_histogram", "Next score", id="filters.histogram"),
        Binding("x", "switch('drop_exact_dups')", "Exact dups", id="filters.exact"),
        Binding("t", "switch('allow_truncated')", "Truncated", id="filters.truncated"),
        Binding("m", "switch('honour_marks')", "Marks", id="filters.marks"),
        Binding("ctrl+r", "refresh_counts", "Refresh", id="filters.refresh"),
    ]

    def compose(self) -> ComposeResult:
        selection = self.flames.selection
        with VerticalScroll(id="filter-scroll"):
            with Horizontal(classes="controls"):
                yield Label("policy", classes="label")
                yield Select(
                    [(p.value, p.value) for p in Policy],
                    value=selection.policy.value,
                    allow_blank=False,
                    compact=True,
                    id="policy",
                )
                yield Label("histogram", classes="label")
                yield Select(
                    [(LABELS[name], name) for name in THRESHOLDS],
                    value=THRESHOLDS[0],
                    allow_blank=False,
                    compact=True,
                    id="hist-field",
                )
            with Horizontal(id="threshold-row"):
                for name in THRESHOLDS:
                    value = getattr(selection, name)
                    yield Label(name, classes="label")
                    yield Field(
                        "" if value is None else f"{value:.2f}",
                        placeholder="off",
                        id=name,
                        classes="number",
                    )
            yield Static("", id="switches")
            yield Table(id="counts", cursor_type="row", zebra_stripes=True)
            yield Static("", id="filter-timing")
            yield Static("", id="filter-command", markup=False)
            yield Static("", id="hist-label")
            yield Sparkline([], id="histogram")
            yield Static("", id="examples")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#counts", DataTable)
        table.add_columns("strategy", "kept", "dropped", "kept %")
        self._show_switches()  # the counts load on screen resume (the first show included)

    def on_screen_resume(self) -> None:
        self._sync_controls()
        self.refresh_counts()  # the worker rescans if marks or finished jobs changed signals

    @property
    def hist_field(self) -> str:
        value = self.query_one("#hist-field", Select).value
        return value if isinstance(value, str) else THRESHOLDS[0]

    def _threshold(self) -> float | None:
        value: float | None = getattr(self.flames.selection, self.hist_field)
        return value

    # -- changes ------------------------------------------------------------------------
    def _set_selection(self, **changes: Any) -> None:
        try:
            selection = replace(self.flames.selection, **changes)
        except FlamesError as exc:  # a ConfigError names the bad value
            self.notify(str(exc), severity="error", markup=False)
            return
        self.flames.selection = selection
        self._show_switches()
        self.refresh_counts()

    def _sync_controls(self) -> None:
        """Show the app's selection (it may have changed on another screen or experiment)."""
        selection = self.flames.selection
        self.query_one("#policy", Select).value = selection.policy.value
        for name in THRESHOLDS:
            field = self.query_one(f"#{name}", Field)
            if _parse(field.value) != getattr(selection, name):
                value = getattr(selection, name)
                field.value = "" if value is None else f"{value:.2f}"
        self._show_switches()

    def _show_switches(self) -> None:
        selection = self.flames.selection
        self.query_one("#switches", Static).update(
            "  ".join(
                f"[b]{SWITCH_KEYS[name]}[/] {name} {'yes' if getattr(selection, name) else 'no'}"
                for name in FLAGS
            )
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "policy" and isinstance(event.value, str):
            if event.value != self.flames.selection.policy.value:
                self._set_selection(policy=event.value)
        elif event.select.id == "hist-field":
            self.refresh_counts()

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name not in THRESHOLDS:
            return
        try:
            value = _parse(event.value)
        except ValueError:
            self.query_one("#filter-timing", Static).update(
                f"[b $error]'{escape(event.value.strip())}' is not a number[/] "
                f"(leave it empty or write off to turn {name} off)"
            )
            return
        if value != getattr(self.flames.selection, name):
            self._set_selection(**{name: value})

    def action_nudge(self, direction: int) -> None:
        name = self.hist_field
        value = nudged(THRESHOLD_KINDS[name], self._threshold(), direction)
        self.query_one(f"#{name}", Field).value = "" if value is None else f"{value:.2f}"

    def action_switch(self, name: str) -> None:
        """Switch one of the selection's yes/no fields."""
        if name in FLAGS:
            self._set_selection(**{name: not getattr(self.flames.selection, name)})

    def action_cycle_policy(self) -> None:
        names = [p.value for p in Policy]
        select = self.query_one("#policy", Select)
        select.value = names[(names.index(self.flames.selection.policy.value) + 1) % len(names)]

    def action_cycle_histogram(self) -> None:
        select = self.query_one("#hist-field", Select)
        select.value = THRESHOLDS[(THRESHOLDS.index(self.hist_field) + 1) % len(THRESHOLDS)]

    def action_refresh_counts(self) -> None:
        self.flames.signals.invalidate()
        self.refresh_counts()

    # -- queries ------------------------------------------------------------------------
    def refresh_counts(self) -> None:
        self._query(self.flames.experiment_id, self.flames.selection, self.hist_field)

    @work(thread=True, exclusive=True, group="filters", exit_on_error=False)
    def _query(self, experiment_id: int | None, selection: Selection, field: str) -> None:
        column = THRESHOLD_COLUMNS[field]
        threshold = getattr(selection, field)
        with self.workspace.db() as db:
            cache = self.flames.signals
            if not cache.ready(db, experiment_id):
                self.app.call_from_thread(self._loading)
            index = cache.get(db, experiment_id)
            started = time.perf_counter()
            counts = index.counts(selection)
            counts_ms = (time.perf_counter() - started) * 1000
            loose = (
                sum(kept for _, kept, _ in index.counts(replace(selection, allow_truncated=True)))
                if not selection.allow_truncated
                else 0
            )
            hist = index.histogram(column, bins=40)
            near = examples_near(
                db, experiment_id, column, 0.5 if threshold is None else threshold, n=2
            )
        total_ms = (time.perf_counter() - started) * 1000
        truncated = loose - sum(kept for _, kept, _ in counts) if loose else 0
        self.post_result(
            self.Counted(
                selection, counts, truncated, hist, near, field, (counts_ms, total_ms, index.size)
            )
        )

    def _loading(self) -> None:
        self.query_one("#filter-timing", Static).update(
            "loading the experiment's signals (one scan; later changes are instant)..."
        )

    def on_filters_screen_counted(self, message: FiltersScreen.Counted) -> None:
        if message.selection != self.flames.selection:
            return  # a newer change is on its way
        table = self.query_one("#counts", DataTable)
        table.clear()
        kept_all = dropped_all = 0
        for name, kept, dropped in message.counts:
            kept_all, dropped_all = kept_all + kept, dropped_all + dropped
            share = f"{100 * kept / (kept + dropped):.0f}%" if kept + dropped else "-"
            table.add_row(name, f"{kept:,}", f"{dropped:,}", share)
        if message.counts:
            share = f"{100 * kept_all / (kept_all + dropped_all):.0f}%"
            table.add_row("[b]all[/]", f"{kept_all:,}", f"{dropped_all:,}", share)
        else:
            table.add_row("no problems yet", "-", "-", "-")
        threshold = getattr(message.selection, message.field)
        bins, lo, hi = message.hist
        self.query_one("#histogram", Sparkline).data = [float(b) for b in bins]
        self.query_one("#hist-label", Static).update(
            f"[b]{LABELS[message.field]}[/] {lo:.2f} .. {hi:.2f}  ({sum(bins):,} scored)  "
            f"{message.field} {shown(threshold)} (+/-)"
        )
        above, below = message.examples
        edge = 0.5 if threshold is None else threshold
        lines = [f"[b]just at/above {edge:.2f}[/]"]
        lines += [f"  #{i} {v:.3f} {escape(text[:58])}" for i, v, text in above] or ["  none"]
        lines += [f"[b]just below {edge:.2f}[/]"]
        lines += [f"  #{i} {v:.3f} {escape(text[:58])}" for i, v, text in below] or ["  none"]
        self.query_one("#examples", Static).update("\n".join(lines))
        cut = f"  {message.truncated:,} more with allow_truncated (t)" if message.truncated else ""
        self.query_one("#filter-timing", Static).update(
            f"counts {message.counts_ms:.0f} ms, all {message.total_ms:.0f} ms "
            f"({message.size:,} problems, signals loaded in {self.flames.signals.seconds:.1f} s)"
            f"{cut}"
        )
        self.query_one("#filter-command", Static).update(
            "CLI: "
            + filter_command(
                self.flames.db_path,
                self.flames.experiment_name or "EXPERIMENT",
                message.selection,
            )
        )


def _parse(text: str) -> float | None:
    """A threshold field's text: empty or `off` is off; else a number (ValueError if not)."""
    text = text.strip().lower()
    return None if text in ("", "off") else float(text)
