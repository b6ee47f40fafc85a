"""Results: arms x benchmarks with deltas and significance, a scaling view, per-item drill-down.

The table is `flames results EXP` on screen (the same rows); enter on a cell lists that
arm's items on that benchmark (the output beside the gold answer and verdict, `w` for the
wrong ones only) and `f` finds the training problems most like the highlighted item.
`v` switches to the scaling view: accuracy vs data size per training method, with the
slope of log error on log n.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from pipeline.flow.results import ResultsView, load_results, similar_training_problems
from pipeline.flow.scaling import ScalingCurve
from pipeline.reports.results import Average, Cell, Row
from storage.evaluation import item_rows
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.math_text import RAW_KEY, MathText, toggle_raw
from workbench.tui.widgets.table import Table

ITEMS_PAGE = 500


def cell_text(cell: Cell | Average | None) -> Text:
    """`41.2% +3.1*`: accuracy, delta against the reference row, the significance mark."""
    if cell is None:
        return Text("-", style="dim")
    text = Text(f"{cell.accuracy:.1%}")
    if cell.delta is not None:
        text.append(f" {cell.delta * 100:+.1f}", style="bold" if cell.mark else "")
        text.append(cell.mark, style="bold")
    return text


def sort_key(row: Row, benchmarks: list[str], column: int) -> float:
    """Accuracy in a column (the average after the benchmarks); a missing cell sorts last."""
    cell = row.average if column >= len(benchmarks) else row.cells.get(benchmarks[column])
    return -1.0 if cell is None else cell.accuracy


class ResultsScreen(WorkbenchScreen):
    """The working experiment's results."""

    FOCUS = "#results"
    DEFAULT_CSS = """
    ResultsScreen #results-header { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    ResultsScreen #results { height: auto; max-height: 45%; }
    ResultsScreen #results-scaling { height: 1fr; }
    ResultsScreen #results-drill { height: 1fr; }
    ResultsScreen #result-items { width: 40; }
    ResultsScreen #result-item { width: 1fr; padding: 0 1; overflow-y: auto; }
    ResultsScreen #result-question { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("enter", "drill", "Items", id="results.items"),
        Binding("o", "sort", "Sort by column", id="results.sort"),
        Binding("v", "scaling", "Scaling view", id="results.scaling"),
        Binding("w", "wrong_only", "Wrong only", id="results.wrong"),
        Binding("f", "similar", "Similar training", id="results.similar"),
        Binding(RAW_KEY, "toggle_raw", "Raw/maths", id="results.raw"),
        Binding("ctrl+r", "reload", "Refresh", id="results.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: ResultsView | None = None
        self.sort_column = -1
        self.run_id: int | None = None
        self.arm: str | None = None
        self.wrong_only = False
        self.items: list[dict[str, Any]] = []
        self.scaling = False

    def compose(self) -> ComposeResult:
        yield Static("", id="results-header", markup=False)
        yield Table(id="results", cursor_type="cell", zebra_stripes=True)
        yield PlotextPlot(id="results-scaling")
        with Horizontal(id="results-drill"):
            yield Table(id="result-items", cursor_type="row")
            with Vertical(id="result-item"):
                yield MathText(id="result-question")
                yield MathText(id="result-output")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#results-scaling").display = False
        self.query_one("#result-items", DataTable).add_columns("#", "verdict", "said", "gold")
        self.query_one("#result-question", MathText).set_text(
            "enter on a cell lists that arm's items on that benchmark"
        )
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load(self.flames.experiment_id)

    @work(thread=True, exclusive=True, group="results", exit_on_error=False)
    def _load(self, experiment_id: int | None) -> None:
        view = None
        if experiment_id is not None:
            with self.workspace.db() as db:
                view = load_results(db, experiment_id)
        self.show_result(self._show, view)

    def _show(self, view: ResultsView | None) -> None:
        self.view = view
        header = self.query_one("#results-header", Static)
        grid = self.query_one("#results", DataTable)
        grid.clear(columns=True)
        table = view.table if view is not None else None
        if view is None or table is None or not table.rows:
            name = self.flames.experiment_name or "EXPERIMENT"
            header.update(
                f"No evaluations yet. Run the experiment end to end: flames run {name} "
                "(or launch it from Runs, 7); rows appear as arms are evaluated."
            )
            return
        header.update(
            f"CLI: flames results {table.experiment}   deltas vs {table.reference or 'none'}; "
            "* p<0.05, ** p<0.01 (paired bootstrap)   o sort  v scaling  enter items"
        )
        labels = [row.label for row in table.rows]
        grid.add_column("arm", width=max(len(label) for label in [*labels, "arm"]))
        for name in [*table.benchmarks, "avg"]:
            grid.add_column(name, width=max(len(name), 13))
        rows = list(table.rows)
        if self.sort_column >= 0:
            column = self.sort_column
            rows.sort(key=lambda r: sort_key(r, table.benchmarks, column), reverse=True)
        for row in rows:
            cells = [cell_text(row.cells.get(b)) for b in table.benchmarks]
            grid.add_row(Text(row.label), *cells, cell_text(row.average), key=row.label)
        self._draw_scaling(view.curves)

    def action_sort(self) -> None:
        if self.view is None:
            return
        benchmarks = self.view.table.benchmarks
        self.sort_column = (self.sort_column + 1) % (len(benchmarks) + 1)
        self._show(self.view)
        label = [*benchmarks, "avg"][self.sort_column]
        self.notify(f"sorted by {label}, best first", timeout=2)

    def action_scaling(self) -> None:
        self.scaling = not self.scaling
        self.query_one("#results-scaling").display = self.scaling
        self.query_one("#results-drill").display = not self.scaling

    def _draw_scaling(self, curves: list[ScalingCurve]) -> None:
        plot = self.query_one("#results-scaling", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        drawn = [c for c in curves if c.points]
        for curve in drawn:
            slope = f" slope {curve.slope:+.3f}" if curve.slope is not None else ""
            plt.plot(
                [math.log10(p.size) for p in curve.points],
                [math.log10(max(p.error, 1e-6)) for p in curve.points],
                label=f"{curve.method}{slope}",
                marker="dot",
            )
        plt.title("log10 error vs log10 examples" if drawn else "no arms of several data sizes")
        plot.refresh()

    def action_drill(self) -> None:
        grid = self.query_one("#results", DataTable)
        if self.view is None or not grid.row_count:
            return
        table = self.view.table
        row_key, _ = grid.coordinate_to_cell_key(grid.cursor_coordinate)
        column = grid.cursor_coordinate.column - 1
        if row_key.value is None or not 0 <= column < len(table.benchmarks):
            self.notify("pick a benchmark cell", timeout=2)
            return
        row = next(r for r in table.rows if r.label == row_key.value)
        cell = row.cells.get(table.benchmarks[column])
        if cell is None or cell.run_id is None:
            self.notify("not evaluated on this benchmark yet", timeout=2)
            return
        self.run_id, self.arm = cell.run_id, row.arm
        self._load_items(cell.run_id, self.wrong_only)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        if event.data_table.id == "results":
            self.action_drill()

    def action_wrong_only(self) -> None:
        self.wrong_only = not self.wrong_only
        if self.run_id is not None:
            self._load_items(self.run_id, self.wrong_only)

    @work(thread=True, exclusive=True, group="result-items", exit_on_error=False)
    def _load_items(self, run_id: int, wrong_only: bool) -> None:
        with self.workspace.db() as db:
            items = item_rows(db, run_id, wrong_only=wrong_only, limit=ITEMS_PAGE)
        self.show_result(self._show_items, items)

    def _show_items(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        table = self.query_one("#result-items", DataTable)
        table.clear()
        for item in items:
            verdict = "✓ right" if item.get("correct") else f"✗ {item.get('verdict') or 'wrong'}"
            table.add_row(
                str(item["item_index"]),
                verdict,
                Text(str(item.get("extracted") or "-")[:12]),
                Text(str(item.get("gold") or "-")[:12]),
                key=str(item["item_index"]),
            )
        if not items:
            self.query_one("#result-question", MathText).set_text("no items (w: all items)")
            self.query_one("#result-output", MathText).set_text("")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "result-items" or event.row_key.value is None:
            return
        index = int(event.row_key.value)
        item = next((i for i in self.items if int(i["item_index"]) == index), None)
        if item is None:
            return
        self.query_one("#result-question", MathText).set_text(
            f"{item.get('question') or ''}\n— gold: {item.get('gold') or '?'}"
        )
        self.query_one("#result-output", MathText).set_text(
            f"model ({item.get('extracted') or 'no answer'}, {item.get('reason') or item.get('verdict') or ''}):\n"
            f"{item.get('output') or ''}"
        )

    def action_similar(self) -> None:
        table = self.query_one("#result-items", DataTable)
        if not self.items or self.arm is None or self.flames.experiment_id is None:
            self.notify("open a cell's items first (enter)", timeout=2)
            return
        item = self.items[min(table.cursor_row, len(self.items) - 1)]
        self._similar(self.flames.experiment_id, self.arm, str(item.get("question") or ""))

    @work(thread=True, exclusive=True, group="result-similar", exit_on_error=False)
    def _similar(self, experiment_id: int, arm: str, question: str) -> None:
        with self.workspace.db() as db:
            found = similar_training_problems(db, experiment_id, arm, question, limit=3)
        text = "\n\n".join(f"#{pid} ({score:.0%} alike): {body}" for pid, score, body in found)
        self.show_result(
            self.query_one("#result-output", MathText).set_text,
            f"training problems of {arm} most like this item:\n{text or 'none found'}",
        )

    def action_toggle_raw(self) -> None:
        raw = toggle_raw(list(self.query(MathText)))
        self.notify("raw LaTeX" if raw else "maths as Unicode", timeout=2)
