"""Per-step DPO inspector: a trace's steps with their rollout value, the critical step, rollouts.

Each step is labelled in words as well as coloured (Q = 1: a rollout from after this step
still reaches the answer; Q = 0: none does, a pit), the critical step (the first pit) is
marked, and `r` shows the rollouts behind the highlighted step's value.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from storage.traces import (
    TraceDetail,
    TraceRow,
    TraceSet,
    rolled_out_traces,
    trace_detail,
    trace_sets,
)
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.math_text import RAW_KEY, MathText, toggle_raw
from workbench.tui.widgets.table import Table

PAGE = 200


def step_label(q: int | None, critical: bool) -> tuple[str, str]:
    """(words, theme colour variable) for a step's value: never colour alone."""
    if critical:
        return "◆ critical: first pit", "error"
    if q is None:
        return "· not rolled out", "text-muted"
    return ("✓ Q=1 still solvable", "success") if q else ("✗ Q=0 pit", "warning")


class StepsScreen(WorkbenchScreen):
    """Browse rolled-out traces of the working experiment; inspect one step by step."""

    FOCUS = "#traces"
    DEFAULT_CSS = """
    StepsScreen #steps-header { height: 1; padding: 0 1; color: $text-muted; }
    StepsScreen #traces { width: 34; }
    StepsScreen #steps-detail { width: 1fr; padding: 0 1; }
    StepsScreen #steps { height: auto; max-height: 12; margin: 1 0; }
    StepsScreen #steps-focus-label { color: $text-muted; }
    """
    BINDINGS = [
        Binding("r", "rollouts", "Rollouts", id="steps.rollouts"),
        Binding("s", "next_set", "Next trace set", id="steps.next_set"),
        Binding(RAW_KEY, "toggle_raw", "Raw/maths", id="steps.raw"),
        Binding("ctrl+r", "reload", "Refresh", id="steps.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sets: list[TraceSet] = []
        self.set_index = 0
        self.detail: TraceDetail | None = None
        self.show_rollouts = False

    def compose(self) -> ComposeResult:
        yield Static("", id="steps-header", markup=False)
        with Horizontal(id="steps-body"):
            yield Table(id="traces", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="steps-detail"):
                yield MathText(id="steps-question")
                yield Table(id="steps", cursor_type="row")
                yield Static("", id="steps-focus-label", markup=False)
                yield MathText(id="steps-focus")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#traces", DataTable).add_columns("trace", "item", "steps", "c")
        self.query_one("#steps", DataTable).add_columns("step", "value", "rate", "text")
        # The sets load on screen resume, which also comes the first time the screen shows.

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load_sets(self.flames.experiment_id, self.set_index)

    def action_next_set(self) -> None:
        if self.sets:
            self.set_index = (self.set_index + 1) % len(self.sets)
            self.action_reload()

    @work(thread=True, exclusive=True, group="steps-sets", exit_on_error=False)
    def _load_sets(self, experiment_id: int | None, index: int) -> None:
        with self.workspace.db() as db:
            sets = trace_sets(db, experiment_id)
            chosen = sets[index % len(sets)] if sets else None
            traces = rolled_out_traces(db, chosen.id, limit=PAGE) if chosen else []
        self.show_result(self._show_sets, sets, chosen, traces)

    def _show_sets(
        self, sets: list[TraceSet], chosen: TraceSet | None, traces: list[TraceRow]
    ) -> None:
        self.sets = sets
        header = self.query_one("#steps-header", Static)
        table = self.query_one("#traces", DataTable)
        table.clear()
        if chosen is None:
            header.update(
                "No rolled-out traces yet. Per-step DPO builds them: "
                "flames export step-dpo EXPERIMENT (or flames pairs step-dpo TRACES.jsonl)."
            )
            return
        header.update(
            f"trace set {chosen.id} of {len(sets)} ({chosen.arm or 'no arm'}, "
            f"{chosen.model or '?'}): {len(traces)} traces  s: next set"
        )
        for trace in traces:
            critical = "-" if trace.critical_step is None else str(trace.critical_step)
            table.add_row(
                str(trace.id), trace.item[:14], str(trace.n_steps or 0), critical, key=str(trace.id)
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        if event.data_table.id == "traces":
            self._load_trace(int(event.row_key.value))
        elif event.data_table.id == "steps":
            self._show_focus(int(event.row_key.value))

    @work(thread=True, exclusive=True, group="steps-trace", exit_on_error=False)
    def _load_trace(self, trace_id: int) -> None:
        with self.workspace.db() as db:
            detail = trace_detail(db, trace_id)
        self.show_result(self._show_trace, detail)

    def _show_trace(self, detail: TraceDetail | None) -> None:
        self.detail = detail
        table = self.query_one("#steps", DataTable)
        table.clear()
        if detail is None:
            return
        trace = detail.trace
        self.query_one("#steps-question", MathText).set_text(
            f"{trace.question or trace.item}\n(answer {trace.reference or '?'}; "
            f"this trace says {trace.extracted_answer or 'nothing'})"
        )
        colours = self.app.theme_variables
        label, colour = step_label(trace.q0, False)
        table.add_row(
            "0", Text(label, style=colours.get(colour, "")), "", "(the problem alone)", key="0"
        )
        for step in detail.steps:
            critical = step.step == trace.critical_step
            label, colour = step_label(step.q, critical)
            rate = "" if step.success_rate is None else f"{step.success_rate:.0%}"
            table.add_row(
                str(step.step),
                Text(
                    label,
                    style=f"bold {colours.get(colour, '')}"
                    if critical
                    else colours.get(colour, ""),
                ),
                rate,
                Text(step.text.strip().replace("\n", " ")[:60]),
                key=str(step.step),
            )
        self._show_focus(trace.critical_step or 0)

    def _show_focus(self, step: int) -> None:
        if self.detail is None:
            return
        label = self.query_one("#steps-focus-label", Static)
        focus = self.query_one("#steps-focus", MathText)
        if self.show_rollouts:
            rollouts = [r for r in self.detail.rollouts if r.prefix == step]
            label.update(f"rollouts after step {step} ({len(rollouts)}; r: back to the step)")
            focus.set_text(
                "\n\n".join(
                    f"#{r.k} {'✓ right' if r.label else '✗ wrong'} ({r.extracted_answer or 'no answer'}): "
                    f"{(r.text or '').strip()}"
                    for r in rollouts
                )
                or "no rollouts stored for this prefix"
            )
            return
        text = next((s.text for s in self.detail.steps if s.step == step), "")
        label.update(f"step {step}  (r: its rollouts)")
        focus.set_text(text.strip() or "(the problem alone: rollouts start from nothing)")

    def action_rollouts(self) -> None:
        self.show_rollouts = not self.show_rollouts
        table = self.query_one("#steps", DataTable)
        row = table.cursor_row if table.row_count else 0
        self._show_focus(row)

    def action_toggle_raw(self) -> None:
        raw = toggle_raw(list(self.query(MathText)))
        self.notify("raw LaTeX" if raw else "maths as Unicode", timeout=2)
