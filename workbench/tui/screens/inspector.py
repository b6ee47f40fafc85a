"""Inspector: one problem, its provenance, solutions and verdicts, duplicates, marks."""

from __future__ import annotations

import json
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import Footer, Input, Static

from pipeline.dedup.diff import word_diff
from pipeline.problems.browse import ProblemDetail, load_detail
from storage.settings import set_mark
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.problem_table import ProblemTable

# Verdicts are labelled in words and a glyph, never by colour alone.
VERDICTS = {
    "correct": ("$success", "✓ correct"),
    "incorrect": ("$error", "✗ incorrect"),
    "unverifiable": ("$warning", "? unverifiable"),
    None: ("$text-muted", "- not verified"),
}


def verdict_label(verdict: str | None) -> str:
    """Markup for a verdict: colour plus glyph plus word."""
    colour, label = VERDICTS.get(verdict, VERDICTS[None])
    return f"[b {colour}]{label}[/]"


def diff_markup(words: list[tuple[str, bool]]) -> str:
    """Words with the differing ones highlighted (underlined too, for monochrome terminals)."""
    return " ".join(
        f"[u b $accent]{escape(w)}[/]" if changed else escape(w) for w, changed in words
    )


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else escape(str(value))


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
        Binding("left_square_bracket", "step(-1)", "Prev", id="inspector.prev"),
    ]

    def __init__(self, problem_id: int, table: ProblemTable | None = None) -> None:
        super().__init__()
        self.problem_id = problem_id
        self.table = table
        self.detail: ProblemDetail | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Static("", id="inspector-problem", classes="section")
            yield Static("", id="inspector-mark", classes="section")
            yield Static("", id="inspector-provenance", classes="section")
            yield Static("", id="inspector-solutions", classes="section")
            yield Static("", id="inspector-scores", classes="section")
            with Horizontal(id="inspector-dups"):
                yield Static("", id="dup-left", classes="dup")
                yield Static("", id="dup-right", classes="dup")
            yield Static("", id="inspector-decontam", classes="section")
        yield Field(placeholder="note for this problem, Enter to save", id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#note").display = False
        self.load()

    @work(thread=True, exclusive=True, group="inspector", exit_on_error=False)
    def load(self) -> None:
        with self.workspace.db() as db:
            detail = load_detail(db, self.problem_id)
        self.app.call_from_thread(self._show, detail)

    def _show(self, detail: ProblemDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.query_one("#inspector-problem", Static).update(f"No problem {self.problem_id}.")
            return
        p = detail.problem
        status = (
            "[b $error]rejected[/]: " + escape(p["reject_reason"] or "")
            if p["status"] == "rejected"
            else "ok"
        )
        self.query_one("#inspector-problem", Static).update(
            f"[b]Problem {p['id']}[/]  strategy [b]{escape(p['strategy'])}[/]  status {status}\n\n"
            f"{escape(p['text'])}\n\nreference answer: {_value(p['reference_answer'])}"
            f"  (answer rule: {p['answer_rule']})"
        )
        self._show_mark()
        self.query_one("#inspector-provenance", Static).update(self._provenance(detail))
        self.query_one("#inspector-solutions", Static).update(self._solutions(detail))
        self.query_one("#inspector-scores", Static).update(self._scores(detail))
        self._show_duplicates(detail)
        match = detail.decontam_match
        self.query_one("#inspector-decontam", Static).update(
            "[b]Decontamination[/]: no benchmark match"
            if not match
            else f"[b]Decontamination match[/] [b $error]⚠ {escape(str(match.get('benchmark', '?')))}"
            f"[/] item {escape(str(match.get('item', '?')))}\n"
            f"{escape(str(match.get('text', '')))}"
        )

    def _show_mark(self) -> None:
        mark = self.detail.mark if self.detail else None
        text = (
            "[b]Mark[/]: none (k keep, d drop, x flag, n note)"
            if mark is None
            else f"[b]Mark[/]: [reverse b]{mark[0]}[/]"
            + (f"  note: {escape(mark[1])}" if mark[1] else "")
        )
        self.query_one("#inspector-mark", Static).update(text)

    def _provenance(self, detail: ProblemDetail) -> str:
        p = detail.problem
        lines = [
            f"[b]Provenance[/]  model {_value(p['model'])}  templates "
            f"{_value(p['template_version'])}  params {_value(p['params_json'])}"
        ]
        if detail.seed:
            s = detail.seed
            lines.append(
                f"seed #{s['id']} ({escape(s['seed_set'])} line {s['source_line']}): "
                f"{escape(s['question'])}  answer {_value(s['answer'])}"
            )
        else:
            lines.append("seed: none (seedless strategy)")
        for stage in detail.stages:
            parsed = stage["parsed_json"] or ""
            with_raw = (
                f"\n    raw: {escape((stage['response'] or '')[:400])}" if stage["response"] else ""
            )
            lines.append(
                f"  stage {escape(stage['stage'])} round {stage['round']}: "
                f"{escape(parsed[:400])}{with_raw}"
            )
        return "\n".join(lines)

    def _solutions(self, detail: ProblemDetail) -> str:
        if not detail.solutions:
            return "[b]Solutions[/]: none yet (run `flames solve`)"
        lines = [f"[b]Solutions[/] ({len(detail.solutions)})"]
        for s in detail.solutions:
            lines.append(
                f"#{s['sample_index']} {escape(s['model'])}  answer "
                f"[b]{_value(s['extracted_answer'])}[/] ({_value(s['extract_rule'])})  "
                f"{verdict_label(s['verdict'])}"
            )
            lines.append(f"   {escape(s['text'][:500])}")
        return "\n".join(lines)

    def _scores(self, detail: ProblemDetail) -> str:
        s = detail.scores
        if s is None:
            return "[b]Scores[/]: none yet"
        groups = json.loads(s["groups_json"]) if s.get("groups_json") else None
        return (
            f"[b]Scores[/]  judge [b]{_value(s['judge_score'])}[/]  majority "
            f"{_value(s['majority_answer'])} ({_value(s['majority_share'])})  first "
            f"{_value(s['first_answer'])}  all agree {_value(s['all_agree'])}  reference "
            f"agrees {_value(s['reference_agrees'])}\nnear-dup sim {_value(s['nn_sim'])} "
            f"(nearest #{_value(s['nn_id'])})  decontam {_value(s['decontam_overlap'])}  "
            f"answer groups {escape(str(groups)) if groups else '-'}"
        )

    def _show_duplicates(self, detail: ProblemDetail) -> None:
        left = self.query_one("#dup-left", Static)
        right = self.query_one("#dup-right", Static)
        right.display = bool(detail.duplicates)
        if not detail.duplicates:
            left.update("[b]Nearest duplicate[/]: none recorded")
            return
        dup = detail.duplicates[0]
        a, b = word_diff(detail.problem["text"], dup["text"])
        left.update(f"[b]This problem[/] #{detail.problem['id']}\n{diff_markup(a)}")
        right.update(
            f"[b]Nearest[/] #{dup['id']} ({escape(dup['strategy'])}, sim "
            f"{_value(dup['score'])})\n{diff_markup(b)}"
            + (
                "\n[b]Also similar[/]: "
                + ", ".join(f"#{d['id']} ({_value(d['score'])})" for d in detail.duplicates[1:])
                if len(detail.duplicates) > 1
                else ""
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
