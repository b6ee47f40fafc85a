"""Blend: ratios per strategy and a total -> available vs needed, FLAMES preset, export.

Ratios and total start from the experiment's `[blend]` config (the FLAMES blend when it has
none); the selection is the app's (the Filters screen's). Export writes next to the
workspace file unless another path is given, asks before replacing a file, and the "CLI:"
line is the `flames blend` command that writes the same file.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Select, Static

from pipeline.datasets.blend import (
    FLAMES_PRESET,
    FORMATS,
    BlendLine,
    ExportResult,
    blend_command,
    config_models,
    examples,
    export_blend,
    plan_blend,
    warnings,
)
from pipeline.datasets.cards import card_paths
from pipeline.experiments.lookup import experiment_name
from pipeline.experiments.store import load_experiment
from pipeline.problems.browse import list_strategies
from pipeline.selection import Selection
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table


class ConfirmOverwrite(ModalScreen[bool]):
    """Asks before an export replaces existing files."""

    DEFAULT_CSS = """
    ConfirmOverwrite { align: center middle; }
    ConfirmOverwrite > Vertical {
        width: 70; height: auto; padding: 1 2; border: thick $warning; background: $panel;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Overwrite", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "Keep them", id="confirm.no"),
    ]

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = paths

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("These files exist already:", markup=False)
            for path in self.paths:
                yield Static(f"  {path}", markup=False)
            yield Static("Overwrite them? y: overwrite   n: keep them (change the path)")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class BlendScreen(WorkbenchScreen):
    """Edit shares and a budget; see what is short; export a dataset and its card."""

    class Loaded(Message):
        """The experiment's strategies and its [blend] defaults, read by a worker."""

        def __init__(
            self, names: list[str], ratios: dict[str, float], total: int, out: str
        ) -> None:
            super().__init__()
            self.names, self.ratios, self.total, self.out = names, ratios, total, out

    class Planned(Message):
        """A worker planned the blend."""

        def __init__(self, plan: list[BlendLine]) -> None:
            super().__init__()
            self.plan = plan

    class Exported(Message):
        """A worker wrote the dataset and its card."""

        def __init__(self, result: ExportResult) -> None:
            super().__init__()
            self.result = result

    FOCUS = "#plan"
    DEFAULT_CSS = """
    BlendScreen #blend-status { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("p", "preset", "FLAMES preset", id="blend.preset"),
        Binding("e", "export", "Export", id="blend.export"),
        Binding("ctrl+r", "replan", "Recount", id="blend.recount"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ratios: dict[str, float] = dict(FLAMES_PRESET)
        self.total = 0

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Label("total", classes="label")
            yield Field("", id="total", classes="number")
            yield Label("format", classes="label")
            yield Select(
                [(f, f) for f in FORMATS],
                value="messages",
                allow_blank=False,
                compact=True,
                id="format",
            )
            yield Field("", placeholder="output path (.jsonl or .parquet)", id="out")
        yield VerticalScroll(id="ratios")
        yield Table(id="plan", cursor_type="none", zebra_stripes=True)
        yield Static("", id="blend-warnings")
        yield Static("", id="blend-status")
        yield Static("", id="blend-command", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#plan", DataTable).add_columns(
            "strategy", "ratio", "needed", "available", "status"
        )
        self._load(self.flames.experiment_id)

    def on_screen_resume(self) -> None:
        self.replan()

    @work(thread=True, exclusive=True, group="blend-strategies", exit_on_error=False)
    def _load(self, experiment_id: int | None) -> None:
        with self.workspace.db() as db:
            names = list_strategies(db, experiment_id)
            ratios, total, name = dict(FLAMES_PRESET), 0, "blend"
            if experiment_id is not None:
                name = experiment_name(db, experiment_id)
                config = load_experiment(db, name)
                ratios = dict(config.blend.ratios) or ratios
                total = config.blend.total
        out = Path(self.flames.db_path).resolve().parent / f"{name}-blend.jsonl"
        self.post_result(self.Loaded(names, ratios, total, str(out)))

    def on_blend_screen_loaded(self, message: Loaded) -> None:
        self.ratios = {name: 0.0 for name in message.names}
        self.ratios.update(message.ratios)
        self.total = message.total
        self.query_one("#total", Field).value = str(message.total)
        self.query_one("#out", Field).value = message.out
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
            self.query_one("#blend-warnings", Static).update(
                f"[b $error]not a number: {escape(str(exc))}[/]"
            )
            return False
        except Exception:
            return True  # ratio fields not mounted yet
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "out":
            self._show_command()
        elif self._read_fields():
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
        self._show_command()

    @work(thread=True, exclusive=True, group="blend-plan", exit_on_error=False)
    def _plan(
        self, experiment_id: int | None, ratios: dict[str, float], total: int, selection: Selection
    ) -> None:
        with self.workspace.db() as db:
            plan = plan_blend(db, experiment_id, ratios, total, selection)
        self.post_result(self.Planned(plan))

    def _out(self) -> Path:
        return Path(self.query_one("#out", Field).value.strip() or "blend.jsonl")

    def _record_format(self) -> str:
        return str(self.query_one("#format", Select).value)

    def _command(self, *, force: bool = False) -> str:
        return blend_command(
            db_path=self.flames.db_path,
            experiment=self.flames.experiment_name or "EXPERIMENT",
            ratios=self._active(),
            total=self.total,
            selection=self.flames.selection,
            out=self._out(),
            record_format=self._record_format(),
            name=self._out().stem,
            force=force,
        )

    def _show_command(self) -> None:
        if self._active():
            self.query_one("#blend-command", Static).update(f"CLI: {self._command()}")

    def on_blend_screen_planned(self, message: Planned) -> None:
        table = self.query_one("#plan", DataTable)
        table.clear()
        for line in message.plan:
            status = f"[b $error]✗ short {line.short:,}[/]" if line.short else "[b $success]✓ ok[/]"
            table.add_row(
                line.strategy,
                f"{line.ratio:.0%}",
                f"{line.needed:,}",
                f"{line.available:,}",
                status,
            )
        problems = warnings(message.plan)
        if self.total <= 0:
            problems.insert(0, "the total is 0 (so is the config's blend.total): type a total")
        self.query_one("#blend-warnings", Static).update(
            "\n".join(f"[b $warning]warning:[/] {w}" for w in problems)
            or "enough problems for every share"
        )
        self._show_command()

    def action_export(self) -> None:
        if not self._read_fields() or not self._active():
            self.notify("give at least one strategy a share", severity="warning")
            return
        if self.total <= 0:
            self.notify("type a total above 0 first", severity="warning")
            return
        out = self._out()
        existing = [path for path in (out, *card_paths(out)) if path.exists()]
        if not existing:
            self._start_export(out, overwrite=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_export(out, overwrite=True)

        self.app.push_screen(ConfirmOverwrite(existing), answered)

    def _start_export(self, out: Path, *, overwrite: bool) -> None:
        self.query_one("#blend-status", Static).update(f"exporting to {escape(str(out))} ...")
        self._export(
            self.flames.experiment_id,
            self._active(),
            self.total,
            self.flames.selection,
            out,
            self._record_format(),
            self._command(force=overwrite),
            overwrite,
        )

    @work(thread=True, exclusive=True, group="blend-export", exit_on_error=False)
    def _export(
        self,
        experiment_id: int | None,
        ratios: dict[str, float],
        total: int,
        selection: Selection,
        out: Path,
        record_format: str,
        command: str,
        overwrite: bool,
    ) -> None:
        with self.workspace.db() as db:
            models = (
                config_models(load_experiment(db, experiment_name(db, experiment_id)), selection)
                if experiment_id is not None
                else None
            )
            result = export_blend(
                db,
                experiment_id,
                ratios,
                total,
                selection,
                out,
                record_format=record_format,
                overwrite=overwrite,
                name=out.stem,
                command=command,
                models=models,
            )
        self.post_message(self.Exported(result))

    def on_blend_screen_exported(self, message: Exported) -> None:
        result = message.result
        written = examples(result.total_written)
        skipped = (
            f"; skipped {examples(result.skipped_truncated, 'problem')} as truncated"
            if result.skipped_truncated
            else ""
        )
        self.notify(
            f"wrote {written} to {result.path} (card {result.card_md.name}){skipped}",
            title="Exported",
            timeout=6,
            markup=False,
        )
        self.query_one("#blend-status", Static).update(
            f"[b $success]✓ exported[/] {written} to {escape(str(result.path))}; card "
            f"{escape(result.card_json.name)}, {escape(result.card_md.name)}{skipped}"
        )
