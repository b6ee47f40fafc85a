"""Problems: a virtual table over every problem, with search, filters and sort."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label, Select, Static

from pipeline.problems.browse import SORTS, ProblemQuery
from pipeline.selection import SCORE_COLUMNS
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.problem_table import ProblemTable

KEPT_CHOICES = ("all", "kept", "dropped", "marked")


class ProblemsScreen(WorkbenchScreen):
    """Browse, search and filter problems; Enter opens the inspector."""

    FOCUS = "#problems"
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="problems.search"),
        Binding("o", "cycle_sort", "Sort", id="problems.sort"),
        Binding("r", "reverse", "Reverse", id="problems.reverse"),
        Binding("v", "cycle_kept", "Kept/dropped", id="problems.kept"),
        Binding("t", "focus_filters", "Filters", id="problems.filters"),
        Binding("escape", "focus_table", "Table", show=False, id="problems.table"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="problem-bar"):
            yield Field(placeholder="search problems (full text) - / to focus", id="search")
            yield Select[str]([], prompt="all strategies", compact=True, id="strategy")
        with Horizontal(id="problem-filters"):
            yield Label("score", classes="label")
            yield Select(
                [(SCORE_COLUMNS[c], c) for c in SCORE_COLUMNS],
                prompt="range on",
                compact=True,
                id="range-column",
            )
            yield Field(placeholder="min", id="range-min", classes="number")
            yield Field(placeholder="max", id="range-max", classes="number")
            yield Select[int]([], prompt="all seed sets", compact=True, id="seed-set")
        yield ProblemTable(self.workspace, self._base_query(), id="problems")
        yield Static("", id="problem-status")
        yield KeyBar()

    def _base_query(self) -> ProblemQuery:
        return ProblemQuery(
            experiment_id=self.flames.experiment_id, selection=self.flames.selection
        )

    def on_mount(self) -> None:
        self.query_one("#problem-filters").display = False
        self._load_strategies()

    def on_screen_resume(self) -> None:
        table = self.query_one(ProblemTable)
        query = table.query_spec
        if (
            query.experiment_id != self.flames.experiment_id
            or query.selection != self.flames.selection
        ):
            table.set_query(
                query.with_(
                    experiment_id=self.flames.experiment_id, selection=self.flames.selection
                )
            )
            self._load_strategies()
        else:
            table.reload()

    def _load_strategies(self) -> None:
        self.run_worker(
            self._strategies_worker,
            thread=True,
            exclusive=True,
            group="problem-strategies",
            exit_on_error=False,
        )

    def _strategies_worker(self) -> None:
        from pipeline.problems.browse import list_strategies
        from storage.seeds import list_seed_sets

        with self.workspace.db() as db:
            names = list_strategies(db, self.flames.experiment_id)
            seed_sets = [(str(r["name"]), int(r["id"])) for r in list_seed_sets(db)]
        self.app.call_from_thread(self._set_strategies, names, seed_sets)

    def _set_strategies(self, names: list[str], seed_sets: list[tuple[str, int]]) -> None:
        # Names come from the data: shown as plain text, never as markup.
        self.query_one("#strategy", Select).set_options([(Content(n), n) for n in names])
        self.query_one("#seed-set", Select).set_options(
            [(Content(name), set_id) for name, set_id in seed_sets]
        )

    # -- query changes ------------------------------------------------------------------
    def _update(self, **changes: object) -> None:
        table = self.query_one(ProblemTable)
        table.set_query(table.query_spec.with_(**changes))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self._update(search=event.value)
            self.query_one(ProblemTable).focus()
        elif event.input.id in ("range-min", "range-max"):
            self._apply_range()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "strategy":
            value = event.value
            self._update(strategies=(str(value),) if isinstance(value, str) else ())
        elif event.select.id == "seed-set":
            value = event.value
            self._update(seed_set_id=value if isinstance(value, int) else None)
        elif event.select.id == "range-column":
            self._apply_range()

    def _apply_range(self) -> None:
        column = self.query_one("#range-column", Select).value
        if not isinstance(column, str):
            self._update(ranges=())
            return
        bounds: list[float | None] = []
        for field_id in ("#range-min", "#range-max"):
            text = self.query_one(field_id, Field).value.strip()
            try:
                bounds.append(float(text) if text else None)
            except ValueError:
                self.notify(f"'{text}' is not a number", severity="warning")
                return
        self._update(ranges=((column, bounds[0], bounds[1]),))

    def action_focus_search(self) -> None:
        self.query_one("#search", Field).focus()

    def action_focus_filters(self) -> None:
        panel = self.query_one("#problem-filters")
        panel.display = not panel.display
        if panel.display:
            self.query_one("#range-column", Select).focus()
        else:
            self.query_one(ProblemTable).focus()

    def action_focus_table(self) -> None:
        self.query_one(ProblemTable).focus()

    def action_cycle_sort(self) -> None:
        query = self.query_one(ProblemTable).query_spec
        self._update(sort=SORTS[(SORTS.index(query.sort) + 1) % len(SORTS)])

    def action_reverse(self) -> None:
        self._update(descending=not self.query_one(ProblemTable).query_spec.descending)

    def action_cycle_kept(self) -> None:
        query = self.query_one(ProblemTable).query_spec
        self._update(kept=KEPT_CHOICES[(KEPT_CHOICES.index(query.kept) + 1) % len(KEPT_CHOICES)])

    # -- table messages -----------------------------------------------------------------
    def on_problem_table_counted(self, event: ProblemTable.Counted) -> None:
        self._show_status()

    def on_problem_table_highlighted(self, event: ProblemTable.Highlighted) -> None:
        self._show_status()

    def _show_status(self) -> None:
        table = self.query_one(ProblemTable)
        q = table.query_spec
        order = f"{q.sort} {'desc' if q.descending else 'asc'}"
        where = f" search '{q.search}'" if q.search else ""
        position = f"{table.cursor + 1:,}/{table.row_count:,}" if table.row_count else "0 problems"
        self.query_one("#problem-status", Static).update(
            Content(
                f"{position}  sort: {order}  showing: {q.kept}{where}  policy: {q.selection.policy}"
            )
        )

    def on_problem_table_selected(self, event: ProblemTable.Selected) -> None:
        from workbench.tui.screens.inspector import InspectorScreen

        self.app.push_screen(InspectorScreen(event.problem_id, self.query_one(ProblemTable)))
