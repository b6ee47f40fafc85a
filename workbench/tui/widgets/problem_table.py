"""A virtual table of problems: a Line-API ScrollView over paged SQLite queries.

Its virtual height is the COUNT of the query; only visible rows are rendered, from pages
of PAGE_SIZE rows fetched by thread workers into an LRU cache. Nothing ever loads all rows,
so a million problems paint as fast as a hundred.
"""

from __future__ import annotations

from collections import OrderedDict

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pipeline.problems.browse import (
    ProblemCount,
    ProblemQuery,
    ProblemRow,
    count_problems,
    fetch_page,
)
from workbench.tui.workspace import Workspace

PAGE_SIZE = 200
CACHE_PAGES = 40


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


class ProblemTable(ScrollView, can_focus=True):
    """Problems matching `query`, one per line, with a cursor."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "jump(0)", "First", show=False, id="table.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Inspect", id="table.inspect"),
    ]
    COMPONENT_CLASSES = {
        "problem-table--header",
        "problem-table--cursor",
        "problem-table--dropped",
        "problem-table--loading",
    }
    DEFAULT_CSS = """
    ProblemTable { height: 1fr; overflow-x: hidden; }
    ProblemTable > .problem-table--header { background: $panel; text-style: bold; }
    ProblemTable > .problem-table--cursor { background: $primary 40%; text-style: bold; }
    ProblemTable:focus > .problem-table--cursor { background: $primary; color: $text; }
    ProblemTable > .problem-table--dropped { color: $text-muted; }
    ProblemTable > .problem-table--loading { color: $text-disabled; }
    """

    cursor: reactive[int] = reactive(0)
    row_count: reactive[int] = reactive(0)

    class Highlighted(Message):
        """The cursor moved onto a loaded problem."""

        def __init__(self, problem_id: int, index: int) -> None:
            self.problem_id = problem_id
            self.index = index
            super().__init__()

    class Selected(Message):
        """Enter (or a click) on a problem: open it."""

        def __init__(self, problem_id: int) -> None:
            self.problem_id = problem_id
            super().__init__()

    class Counted(Message):
        """The query's row count is known."""

        def __init__(self, count: int) -> None:
            self.count = count
            super().__init__()

    def __init__(
        self, workspace: Workspace, query: ProblemQuery | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.workspace = workspace
        self.query_spec = query or ProblemQuery()
        self._pages: OrderedDict[int, list[ProblemRow]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0
        self._count_known: ProblemCount | None = None

    def on_mount(self) -> None:
        self.set_query(self.query_spec)

    # -- data ---------------------------------------------------------------------------
    def set_query(self, query: ProblemQuery) -> None:
        """Show another query: forget cached pages, recount, go to the top."""
        self.query_spec = query
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self._count_known = None
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self._count(query, self._generation)
        self._prefetch_first()

    def reload(self) -> None:
        """Refetch the current query keeping the cursor (after a mark changed, say)."""
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self._count_known = None  # pages fetched before the new count must not use the old
        self._count(self.query_spec, self._generation)
        self._prefetch_first()

    def _prefetch_first(self) -> None:
        """Fetch the first page while the COUNT runs: first paint waits for neither alone."""
        self._pending.add(0)
        self._fetch(self.query_spec, 0, self._generation, None)

    @work(thread=True, exclusive=True, group="problem-count", exit_on_error=False)
    def _count(self, query: ProblemQuery, generation: int) -> None:
        with self.workspace.db() as db:
            count = count_problems(db, query)
        self.app.call_from_thread(self._apply_count, count, generation)

    def _apply_count(self, count: ProblemCount, generation: int) -> None:
        if generation != self._generation:
            return
        self._count_known = count
        self.row_count = count.total
        self.virtual_size = Size(self.size.width, count.total + 1)
        self.cursor = min(self.cursor, max(0, count.total - 1))
        self.refresh()
        self.post_message(self.Counted(count.total))

    @work(thread=True, group="problem-pages", exit_on_error=False)
    def _fetch(
        self, query: ProblemQuery, page: int, generation: int, count: ProblemCount | None
    ) -> None:
        with self.workspace.db() as db:
            rows = fetch_page(db, query, page * PAGE_SIZE, PAGE_SIZE, count)
        self.app.call_from_thread(self._store_page, page, rows, generation)

    def _store_page(self, page: int, rows: list[ProblemRow], generation: int) -> None:
        self._pending.discard(page)
        if generation != self._generation:
            return
        self._pages[page] = rows
        while len(self._pages) > CACHE_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        self._announce()

    def row_at(self, index: int) -> ProblemRow | None:
        """The row at `index` if its page is cached, else None (and its page is requested)."""
        if index < 0 or index >= self.row_count:
            return None
        page, offset = divmod(index, PAGE_SIZE)
        rows = self._pages.get(page)
        if rows is None:
            if page not in self._pending:
                self._pending.add(page)
                self._fetch(self.query_spec, page, self._generation, self._count_known)
            return None
        self._pages.move_to_end(page)
        return rows[offset] if offset < len(rows) else None

    @property
    def cached_rows(self) -> int:
        """How many rows are held in memory now (a bounded window, never the table)."""
        return sum(len(rows) for rows in self._pages.values())

    @property
    def current(self) -> ProblemRow | None:
        """The row under the cursor, when loaded."""
        return self.row_at(self.cursor)

    # -- cursor -------------------------------------------------------------------------
    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + self._body_height:
            self.scroll_to(y=new - self._body_height + 1, animate=False)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Highlighted(row.id, self.cursor))

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, min(self.row_count - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * self._body_height)

    def action_jump(self, where: int) -> None:
        self.cursor = max(0, self.row_count - 1) if where < 0 else 0

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(row.id))

    def on_click(self, event: Click) -> None:
        if event.y >= 1:
            index = int(self.scroll_offset.y) + event.y - 1
            if 0 <= index < self.row_count:
                if index == self.cursor and event.chain > 1:
                    self.action_select()
                self.cursor = index

    # -- rendering ----------------------------------------------------------------------
    def _widths(self) -> tuple[int, int]:
        width = self.scrollable_content_region.width
        strategy = 22 if width >= 120 else 14
        return strategy, max(10, width - (7 + strategy + 5 * 5 + 7))

    def _cells(self, row: ProblemRow | None, header: bool = False) -> str:
        strategy_w, text_w = self._widths()
        if header:
            values = ["id", "strategy", "judge", "nn", "cont", "kept", "mark", "problem"]
        elif row is None:
            values = ["…", "", "", "", "", "", "", "loading"]
        else:
            kept = "kept" if row.kept else ("rej" if row.status == "rejected" else "drop")
            values = [
                str(row.id),
                row.strategy,
                _score(row.judge),
                _score(row.nn_sim),
                _score(row.decontam),
                kept,
                row.mark or "",
                row.text.replace("\n", " "),
            ]
        widths = [7, strategy_w, 5, 5, 5, 5, 5, text_w]
        cells = [
            set_cell_size(v.rjust(w) if i in (0, 2, 3, 4) else v, w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return " ".join(cells)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base: Style = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("problem-table--header")
            return Strip([Segment(set_cell_size(self._cells(None, True), width), header)])
        index = int(self.scroll_offset.y) + y - 1
        if index >= self.row_count:
            if index == 0 and self._count_known is not None:
                hint = (
                    "  No problems match. Generate some from Experiments (1, then g), or "
                    "loosen the search and filters."
                )
                muted = base + self.get_component_rich_style("problem-table--loading")
                return Strip([Segment(set_cell_size(hint, width), muted)])
            return Strip.blank(width, base)
        row = self.row_at(index)
        style = base
        if row is None:
            style += self.get_component_rich_style("problem-table--loading")
        elif not row.kept:
            style += self.get_component_rich_style("problem-table--dropped")
        if index == self.cursor:
            style += self.get_component_rich_style("problem-table--cursor")
        return Strip([Segment(set_cell_size(self._cells(row), width), style)])
