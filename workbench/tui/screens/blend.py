"""Blend: ratios per strategy and a total -> available vs needed, FLAMES preset, export."""

from __future__ import annotations

import shlex
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, Select, Static

from pipeline.datasets.blend import (
    FLAMES_PRESET,
    FORMATS,
    BlendLine,
    ExportResult,
    export_blend,
    plan_blend,
    warnings,
)
from pipeline.problems.browse import list_strategies
from pipeline.selection.thresholds import Selection
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field


class BlendScreen(WorkbenchScreen):
    """Edit shares and a budget; see what is short; export JSONL and a dataset card."""

    FOCUS = "#plan"
    BINDINGS = [
        Binding("p", "preset", "FLAMES preset", id="blend.preset"),
        Binding("e", "export", "Export", id="blend.export"),
        Binding("ctrl+r", "replan", "Recount", id="blend.recount"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ratios: dict[str, float] = dict(FLAMES_PRESET)
        self.total = 1000

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Label("total", classes="label")
            yield Field(str(self.total), id="total", classes="number")
            yield Label("format", classes="label")
            yield Select(
                [(f, f) for f in FORMATS],
                value="messages",
                allow_blank=False,
                compact=True,
                id="format",
            )
            yield Field("blend.jsonl", placeholder="output path", id="out")
        yield VerticalScroll(id="ratios")
        yield DataTable(id="plan", cursor_type="none", zebra_stripes=True)
        yield Static("", id="blend-warnings")
        yield Static("", id="blend-command")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan", DataTable).add_columns(
            "strategy", "ratio", "needed", "available", "status"
        )
        self._load_strategies()

    def on_screen_resume(self) -> None:
        self.replan()

    @work(thread=True, exclusive=True, group="blend-strategies", exit_on_error=False)
    def _load_strategies(self) -> None:
        with self.workspace.db() as db:
            names = list_strategies(db, self.flames.experiment_id)
        self.app.call_from_thread(self._build_ratio_fields, names)

    def _build_ratio_fields(self, names: list[str]) -> None:
        for name in names:
            self.ratios.setdefault(name, 0.0)
        box = self.query_one("#ratios", VerticalScroll)
        box.remove_children()
        for name, share in self.ratios.items():
            box.mount(
                Horizontal(
                    Label(name, classes="ratio-name"),
                    Field(f"{share:g}", id=f"ratio-{name}", classes="number"),
                    classes="ratio-row",
                )
            )
        self.replan()

    def _read_fields(self) -> bool:
        try:
            self.total = int(self.query_one("#total", Field).value or 0)
            for name in self.ratios:
                text = self.query_one(f"#ratio-{name}", Field).value.strip()
                self.ratios[name] = float(text) if text else 0.0
        except ValueError as exc:
            self.query_one("#blend-warnings", Static).update(f"[b $error]not a number: {exc}[/]")
            return False
        except Exception:
            return True  # ratio fields not mounted yet
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "out" and self._read_fields():
            self.replan()

    def action_preset(self) -> None:
        for name in self.ratios:
            share = FLAMES_PRESET.get(name, 0.0)
            try:
                self.query_one(f"#ratio-{name}", Field).value = f"{share:g}"
            except Exception:
                self.ratios[name] = share
        self.notify(
            "FLAMES blend: 50% suggester_editor, 20% iqc, 20% taxonomy_key_concepts, "
            "10% distraction_insertion",
            timeout=4,
        )

    def action_replan(self) -> None:
        self.replan()

    def _active(self) -> dict[str, float]:
        return {name: share for name, share in self.ratios.items() if share > 0}

    def replan(self) -> None:
        if self._active():
            self._plan(self.flames.experiment_id, self._active(), self.total, self.flames.selection)

    @work(thread=True, exclusive=True, group="blend-plan", exit_on_error=False)
    def _plan(
        self, experiment_id: int | None, ratios: dict[str, float], total: int, selection: Selection
    ) -> None:
        with self.workspace.db() as db:
            plan = plan_blend(db, experiment_id, ratios, total, selection)
        self.app.call_from_thread(self._show_plan, plan)

    def _command(self) -> str:
        ratios = [f"--ratio={n}={s:g}" for n, s in self._active().items()]
        fmt = self.query_one("#format", Select).value
        s = self.flames.selection
        args = [
            "flames",
            "blend",
            "--db",
            self.flames.db_path,
            "--experiment",
            self.flames.experiment_name or "?",
            *ratios,
            "--total",
            str(self.total),
            "--policy",
            s.policy,
            "--out",
            self.query_one("#out", Field).value,
            "--format",
            str(fmt),
        ]
        return shlex.join(args)

    def _show_plan(self, plan: list[BlendLine]) -> None:
        table = self.query_one("#plan", DataTable)
        table.clear()
        for line in plan:
            status = f"[b $error]✗ short {line.short:,}[/]" if line.short else "[b $success]✓ ok[/]"
            table.add_row(
                line.strategy,
                f"{line.ratio:.0%}",
                f"{line.needed:,}",
                f"{line.available:,}",
                status,
            )
        problems = warnings(plan)
        self.query_one("#blend-warnings", Static).update(
            "\n".join(f"[b $warning]warning:[/] {w}" for w in problems)
            or "enough problems for every share"
        )
        self.query_one("#blend-command", Static).update(f"CLI: {self._command()}")

    def action_export(self) -> None:
        if not self._read_fields() or not self._active():
            self.notify("give at least one strategy a share", severity="warning")
            return
        out = Path(self.query_one("#out", Field).value or "blend.jsonl")
        fmt = str(self.query_one("#format", Select).value)
        self._export(
            self.flames.experiment_id,
            self._active(),
            self.total,
            self.flames.selection,
            out,
            fmt,
            self._command(),
        )

    @work(thread=True, exclusive=True, group="blend-export", exit_on_error=False)
    def _export(
        self,
        experiment_id: int | None,
        ratios: dict[str, float],
        total: int,
        selection: Selection,
        out: Path,
        fmt: str,
        command: str,
    ) -> None:
        with self.workspace.db() as db:
            result = export_blend(
                db,
                experiment_id,
                ratios,
                total,
                selection,
                out,
                fmt=fmt,
                name=out.stem,
                command=command,
            )
        self.app.call_from_thread(self._exported, result)

    def _exported(self, result: ExportResult) -> None:
        self.notify(
            f"wrote {sum(result.written.values()):,} examples to {result.path} "
            f"(card {result.card_md.name})",
            title="Exported",
            timeout=6,
        )
        self.query_one("#blend-warnings", Static).update(
            f"[b $success]✓ exported[/] {sum(result.written.values()):,} examples to "
            f"{result.path}; card {result.card_json.name}, {result.card_md.name}"
        )
