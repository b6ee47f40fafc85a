"""Inspector: one problem, its provenance, solutions and verdicts, duplicates, marks, and
whether the selection keeps it."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from pipeline.dedup.diff import word_diff
from pipeline.problems.browse import ProblemDetail, load_detail
from pipeline.selection import Selection
from storage.settings import set_mark
from workbench.tui import inspection
from workbench.tui.maths import with_maths
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.math_text import RAW_KEY
from workbench.tui.widgets.problem_table import ProblemTable


class InspectorScreen(WorkbenchScreen):
    """Everything about one problem; k/d/x mark it keep/drop/flag, n adds a note."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="inspector.back"),
        Binding("k", "mark('keep')", "Keep", id="inspector.keep"),
        Binding("d", "mark('drop')", "Drop", id="inspector.drop"),
        Binding("x", "mark('flag')", "Flag", id="inspector.flag"),
        Binding("u", "mark('')", "Unmark", id="inspector.unmark"),
        Binding("n", "note", "Note", id="inspector.note"),
        Binding("right_square_bracket", "step(1)", "Next", id="inspector.next"),
        Binding("left_square_bracket", "step(-1)", "Previous", id="inspector.prev"),
        Binding(RAW_KEY, "toggle_raw", "Raw/maths", id="inspector.raw"),
    ]

    class Loaded(Message):
        """One problem's detail (None: no such problem)."""

        def __init__(self, problem_id: int, detail: ProblemDetail | None) -> None:
            self.problem_id = problem_id
            self.detail = detail
            super().__init__()

    def __init__(self, problem_id: int, table: ProblemTable | None = None) -> None:
        super().__init__()
        self.problem_id = problem_id
        self.table = table
        self.detail: ProblemDetail | None = None
        self.raw = False  # LaTeX as Unicode (pipeline data shown raw with the \\ key)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Static("", id="inspector-problem", classes="section", markup=False)
            yield Static("", id="inspector-text", classes="section", markup=False)
            yield Static("", id="inspector-mark", classes="section", markup=False)
            yield Static("", id="inspector-selection", classes="section", markup=False)
            yield Static("", id="inspector-provenance", classes="section", markup=False)
            yield Static("", id="inspector-solutions", classes="section", markup=False)
            yield Static("", id="inspector-scores", classes="section", markup=False)
            with Horizontal(id="inspector-dups"):
                yield Static("", id="dup-left", classes="dup", markup=False)
                yield Static("", id="dup-right", classes="dup", markup=False)
            yield Static("", id="inspector-decontam", classes="section", markup=False)
        yield Field(placeholder="note for this problem, Enter to save", id="note")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#note").display = False
        self.load()

    @property
    def selection(self) -> Selection:
        return self.flames.selection

    @work(thread=True, exclusive=True, group="inspector", exit_on_error=False)
    def load(self) -> None:
        problem_id = self.problem_id
        with self.workspace.db() as db:
            detail = load_detail(db, problem_id, self.selection)
        self.post_result(self.Loaded(problem_id, detail))

    def on_inspector_screen_loaded(self, event: Loaded) -> None:
        if event.problem_id != self.problem_id:
            return
        self._show(event.detail)

    def _show(self, detail: ProblemDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.query_one("#inspector-problem", Static).update(f"No problem {self.problem_id}.")
            return
        shown = detail if self.raw else with_maths(detail)
        self._set("#inspector-problem", inspection.header(detail))
        self._set(
            "#inspector-text",
            inspection.lines(
                [Content(str(shown.problem["text"])), Content(""), inspection.reference(detail)]
            ),
        )
        self._show_mark()
        self._set("#inspector-provenance", inspection.provenance(shown))
        self._set("#inspector-solutions", inspection.solutions(shown))
        self._set("#inspector-scores", inspection.signals(detail))
        self._show_duplicates(detail)
        self._set("#inspector-decontam", inspection.decontamination(detail))

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        self._show(self.detail)

    def _set(self, selector: str, content: Content) -> None:
        self.query_one(selector, Static).update(content)

    def _show_mark(self) -> None:
        detail = self.detail
        mark = detail.mark if detail else None
        self._set(
            "#inspector-mark",
            inspection.title("Mark")
            + (
                Content(": none (k keep, d drop, x flag, n note)")
                if mark is None
                else Content(": ")
                + Content.styled(mark[0], "reverse bold")
                + Content(f"  note: {mark[1]}" if mark[1] else "")
            ),
        )
        if detail is not None:
            self._set(
                "#inspector-selection",
                inspection.selection_verdict(detail, self.selection),
            )

    def _show_duplicates(self, detail: ProblemDetail) -> None:
        left = self.query_one("#dup-left", Static)
        right = self.query_one("#dup-right", Static)
        right.display = bool(detail.duplicates)
        if not detail.duplicates:
            scores = detail.scores or {}
            checked = any(
                scores.get(k) is not None for k in ("nn_sim", "dup_of_sim", "is_exact_dup")
            )
            left.update(
                inspection.title("Nearest duplicate")
                + Content(": none recorded" if checked else ": not checked yet")
            )
            return
        dup = detail.duplicates[0]
        a, b = word_diff(str(detail.problem["text"]), str(dup["text"]))
        left.update(
            inspection.lines(
                [inspection.title(f"This problem #{detail.problem['id']}"), inspection.diff(a)]
            )
        )
        also = ", ".join(
            f"#{d['id']} ({inspection.number(d['score'])})" for d in detail.duplicates[1:]
        )
        right.update(
            inspection.lines(
                [
                    inspection.title(f"Nearest #{dup['id']}")
                    + Content(f" ({dup['strategy']}, sim {inspection.number(dup['score'])})"),
                    inspection.diff(b),
                    *([inspection.title("Also similar") + Content(f": {also}")] if also else []),
                ]
            )
        )

    # -- actions ------------------------------------------------------------------------
    def action_mark(self, mark: str, note: str | None = None) -> None:
        keep_note = (
            note
            if note is not None
            else (self.detail.mark[1] if self.detail and self.detail.mark else None)
        )
        self._save_mark(mark or None, keep_note if mark else None)

    @work(thread=True, exclusive=True, group="inspector-mark", exit_on_error=False)
    def _save_mark(self, mark: str | None, note: str | None) -> None:
        with self.workspace.db() as db:
            set_mark(db, self.problem_id, mark, note)
        self.app.call_from_thread(self._marked, mark, note)

    def _marked(self, mark: str | None, note: str | None) -> None:
        if self.detail is not None:
            self.detail.mark = (mark, note) if mark else None
        self._show_mark()
        self.notify(f"problem {self.problem_id}: {mark or 'unmarked'}", timeout=2)
        self.load()  # a mark can change whether the selection keeps the problem

    def action_note(self) -> None:
        note = self.query_one("#note", Field)
        note.display = True
        note.value = self.detail.mark[1] or "" if self.detail and self.detail.mark else ""
        note.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        current = self.detail.mark[0] if self.detail and self.detail.mark else "flag"
        self._save_mark(current, event.value.strip() or None)

    def action_step(self, delta: int) -> None:
        if self.table is None:
            return
        self.table.action_cursor(delta)
        row = self.table.current
        if row is not None:
            self.problem_id = row.id
            self.load()
