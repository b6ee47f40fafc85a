"""Filters: policy and thresholds with live kept/dropped counts, a histogram and examples."""

from __future__ import annotations

import time
from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import DataTable, Footer, Input, Label, Select, Sparkline, Static

from pipeline.selection.thresholds import NEAR_DUP_COLUMN, POLICIES, Selection, examples_near
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field

# histogram column -> the Selection field that thresholds it
THRESHOLDS = {
    NEAR_DUP_COLUMN: "max_nn_sim",
    "decontam_overlap": "max_decontam",
    "judge_score": "min_judge",
}
LABELS = {
    NEAR_DUP_COLUMN: "near-dup similarity",
    "decontam_overlap": "decontamination overlap",
    "judge_score": "judge score",
}
STEP = 0.01


class FiltersScreen(WorkbenchScreen):
    """Tune what is kept; each change is one query and applies everywhere (problems, blend)."""

    FOCUS = "#counts"
    BINDINGS = [
        Binding("plus,equals_sign", "nudge(1)", "+0.01", id="filters.up"),
        Binding("minus", "nudge(-1)", "-0.01", id="filters.down"),
        Binding("p", "cycle_policy", "Policy", id="filters.policy"),
        Binding("h", "cycle_histogram", "Histogram of", id="filters.histogram"),
        Binding("ctrl+r", "refresh_counts", "Refresh", id="filters.refresh"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Label("policy", classes="label")
            yield Select(
                [(p, p) for p in POLICIES],
                value=self.flames.selection.policy,
                allow_blank=False,
                compact=True,
                id="policy",
            )
            yield Label("histogram", classes="label")
            yield Select(
                [(LABELS[c], c) for c in THRESHOLDS],
                value=NEAR_DUP_COLUMN,
                allow_blank=False,
                compact=True,
                id="hist-column",
            )
        with Horizontal(classes="controls"):
            for attr in THRESHOLDS.values():
                value = getattr(self.flames.selection, attr)
                yield Label(attr.replace("_", " "), classes="label")
                yield Field(
                    "" if value is None else f"{value:.2f}",
                    placeholder="off",
                    id=attr,
                    classes="number",
                )
        yield DataTable(id="counts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="filter-timing")
        yield Static("", id="hist-label")
        yield Sparkline([], id="histogram")
        yield Static("", id="examples")
        yield Footer()

    def __init__(self) -> None:
        super().__init__()

    def on_mount(self) -> None:
        table = self.query_one("#counts", DataTable)
        table.add_columns("strategy", "kept", "dropped", "kept %")
        self.refresh_counts()

    def on_screen_resume(self) -> None:
        self.refresh_counts()  # the worker rescans if marks or finished jobs changed signals

    @property
    def column(self) -> str:
        value = self.query_one("#hist-column", Select).value
        return value if isinstance(value, str) else NEAR_DUP_COLUMN

    def _threshold(self) -> float:
        attr = THRESHOLDS[self.column]
        value = getattr(self.flames.selection, attr)
        return 0.5 if value is None else float(value)

    # -- changes ------------------------------------------------------------------------
    def _set_selection(self, **changes: object) -> None:
        try:
            selection = replace(self.flames.selection, **changes)
        except Exception as exc:  # a ConfigError names the bad value
            self.notify(str(exc), severity="error")
            return
        self.flames.selection = selection
        self.refresh_counts()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "policy" and isinstance(event.value, str):
            if event.value != self.flames.selection.policy:
                self._set_selection(policy=event.value)
        elif event.select.id == "hist-column":
            self.refresh_counts()

    def on_input_changed(self, event: Input.Changed) -> None:
        attr = event.input.id or ""
        if attr not in THRESHOLDS.values():
            return
        text = event.value.strip()
        try:
            value = float(text) if text else None
        except ValueError:
            self.query_one("#filter-timing", Static).update(
                f"[b $error]'{text}' is not a number[/] (leave empty to turn {attr} off)"
            )
            return
        if value != getattr(self.flames.selection, attr):
            self._set_selection(**{attr: value})

    def action_nudge(self, direction: int) -> None:
        attr = THRESHOLDS[self.column]
        value = round(min(1.0, max(0.0, self._threshold() + direction * STEP)), 4)
        self.query_one(f"#{attr}", Field).value = f"{value:.2f}"

    def action_cycle_policy(self) -> None:
        names = list(POLICIES)
        select = self.query_one("#policy", Select)
        select.value = names[(names.index(self.flames.selection.policy) + 1) % len(names)]

    def action_cycle_histogram(self) -> None:
        names = list(THRESHOLDS)
        select = self.query_one("#hist-column", Select)
        select.value = names[(names.index(self.column) + 1) % len(names)]

    def action_refresh_counts(self) -> None:
        self.flames.signals.invalidate()
        self.refresh_counts()

    # -- queries ------------------------------------------------------------------------
    def refresh_counts(self) -> None:
        self._query(
            self.flames.experiment_id, self.flames.selection, self.column, self._threshold()
        )

    @work(thread=True, exclusive=True, group="filters", exit_on_error=False)
    def _query(
        self, experiment_id: int | None, selection: Selection, column: str, threshold: float
    ) -> None:
        with self.workspace.db() as db:
            cache = self.flames.signals
            if not cache.ready(db, experiment_id):
                self.app.call_from_thread(self._loading)
            index = cache.get(db, experiment_id)
            started = time.perf_counter()
            counts = index.counts(selection)
            counts_ms = (time.perf_counter() - started) * 1000
            hist = index.histogram(column, bins=40)
            examples = examples_near(db, experiment_id, column, threshold, n=2)
        total_ms = (time.perf_counter() - started) * 1000
        self.app.call_from_thread(
            self._show,
            selection,
            counts,
            hist,
            examples,
            column,
            threshold,
            counts_ms,
            total_ms,
            index.size,
        )

    def _loading(self) -> None:
        self.query_one("#filter-timing", Static).update(
            "loading the experiment's signals (one scan; later changes are instant)..."
        )

    def _show(
        self,
        selection: Selection,
        counts: list[tuple[str, int, int]],
        hist: tuple[list[int], float, float],
        examples: tuple[list[tuple[int, float, str]], list[tuple[int, float, str]]],
        column: str,
        threshold: float,
        counts_ms: float,
        total_ms: float,
        size: int,
    ) -> None:
        if selection != self.flames.selection:
            return  # a newer change is on its way
        table = self.query_one("#counts", DataTable)
        table.clear()
        kept_all = dropped_all = 0
        for name, kept, dropped in counts:
            kept_all, dropped_all = kept_all + kept, dropped_all + dropped
            share = f"{100 * kept / (kept + dropped):.0f}%" if kept + dropped else "-"
            table.add_row(name, f"{kept:,}", f"{dropped:,}", share)
        if counts:
            share = f"{100 * kept_all / (kept_all + dropped_all):.0f}%"
            table.add_row("[b]all[/]", f"{kept_all:,}", f"{dropped_all:,}", share)
        else:
            table.add_row("no problems yet", "-", "-", "-")
        bins, lo, hi = hist
        self.query_one("#histogram", Sparkline).data = [float(b) for b in bins]
        self.query_one("#hist-label", Static).update(
            f"[b]{LABELS[column]}[/] {lo:.2f} .. {hi:.2f}  ({sum(bins):,} scored)  "
            f"threshold {threshold:.2f} (+/-)"
        )
        above, below = examples
        lines = [f"[b]just at/above {threshold:.2f}[/]"]
        lines += [f"  #{i} {v:.3f} {escape(text[:58])}" for i, v, text in above] or ["  none"]
        lines += [f"[b]just below {threshold:.2f}[/]"]
        lines += [f"  #{i} {v:.3f} {escape(text[:58])}" for i, v, text in below] or ["  none"]
        self.query_one("#examples", Static).update("\n".join(lines))
        self.query_one("#filter-timing", Static).update(
            f"counts {counts_ms:.0f} ms, all {total_ms:.0f} ms (signals of "
            f"{size:,} problems loaded in {self.flames.signals.seconds:.1f} s)  CLI: flames filter "
            f"{self.flames.experiment_name or 'EXPERIMENT'} --policy {selection.policy}"
        )
