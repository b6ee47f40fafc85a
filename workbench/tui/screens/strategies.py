"""Strategies: enable/disable, budgets, validated params, prompt templates with history, preview."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.widgets import DataTable, Label, Select, Static, TextArea

from pipeline.strategies import STRATEGIES, get_strategy
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.field import Field
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.table import Table


class StrategiesScreen(WorkbenchScreen):
    """The strategies of the current experiment and their prompt templates."""

    FOCUS = "#strategy-list"
    BINDINGS = [
        Binding("space", "toggle_strategy", "Enable/disable", id="strategies.toggle"),
        Binding("ctrl+s", "save", "Save", id="strategies.save"),
        Binding("ctrl+t", "save_template", "Save template", id="strategies.save_template"),
        Binding("ctrl+o", "preview", "Preview on a seed", id="strategies.preview"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.config: Any = None
        self._seed_offset = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Table(id="strategy-list", cursor_type="row")
            with VerticalScroll(id="strategy-detail"):
                yield Static("", id="strategy-summary")
                with Horizontal(classes="controls"):
                    yield Label("budget", classes="label")
                    yield Field("", id="budget", classes="number")
                yield Label("params (JSON; checked against the strategy's schema)")
                yield Field("{}", id="params")
                yield Static("", id="strategy-message")
                with Horizontal(classes="controls"):
                    yield Label("stage", classes="label")
                    yield Select[str]([], compact=True, id="stage", prompt="stage")
                    yield Label("version", classes="label")
                    yield Select[int]([], compact=True, id="version", prompt="version")
                yield TextArea("", id="template", soft_wrap=True)
                yield Static("", id="history")
                yield Static("", id="preview")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#template", TextArea).cursor_blink = bool(self.flames.cursor_blink)
        self.query_one(DataTable).add_columns("strategy", "on", "budget")  # loads on resume

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="strategies", exit_on_error=False)
    def load(self) -> None:
        config = None
        name = self.flames.experiment_name
        if name is not None:
            from pipeline.experiments.store import load_experiment

            with self.workspace.db() as db:
                config = load_experiment(db, name)
        self.show_result(self._show_list, config)

    def _settings(self, name: str) -> Any:
        from pipeline.config.schema import StrategyConfig

        if self.config is None:
            return StrategyConfig(enabled=False)
        return self.config.strategies.get(name, StrategyConfig(enabled=False))

    def _show_list(self, config: Any) -> None:
        self.config = config
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for name in STRATEGIES:
            settings = self._settings(name)
            table.add_row(
                name, "✓ on" if settings.enabled else "· off", str(settings.budget), key=name
            )
        table.move_cursor(row=cursor)
        if config is None:
            self.query_one("#strategy-message", Static).update(
                "[b $warning]No experiment selected[/]: pick one on Experiments (1) to edit "
                "its strategies; templates are shared by all experiments."
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None or event.row_key.value == self.current:
            return
        self.current = str(event.row_key.value)
        strategy = get_strategy(self.current)
        settings = self._settings(self.current)
        params = (
            "\n".join(
                f"  {p.name} ({p.type}, default {p.default!r}): {escape(p.help)}"
                for p in strategy.params
            )
            or "  none"
        )
        self.query_one("#strategy-summary", Static).update(
            f"[b]{strategy.title}[/] ({strategy.name})  inputs {strategy.inputs}, answer "
            f"{strategy.answer_rule}\n{escape(strategy.summary)}\nparams:\n{params}\n"
            f"[dim]{escape(strategy.note)}[/]"
        )
        self.query_one("#budget", Field).value = str(settings.budget)
        self.query_one("#params", Field).value = json.dumps(settings.params)
        stages = [(s.name, s.name) for s in strategy.stages]
        self.query_one("#stage", Select).set_options(stages)
        self.query_one("#stage", Select).value = stages[0][0]

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "stage" and isinstance(event.value, str) and self.current:
            self._load_templates(self.current, event.value, None)
        elif event.select.id == "version" and isinstance(event.value, int) and self.current:
            stage = self.query_one("#stage", Select).value
            if isinstance(stage, str):
                self._load_templates(self.current, stage, event.value)

    @work(thread=True, exclusive=True, group="templates", exit_on_error=False)
    def _load_templates(self, strategy_name: str, stage: str, version: int | None) -> None:
        from pipeline.strategies.prompts import current_templates
        from storage.templates import template_history

        with self.workspace.db() as db:
            current = current_templates(db, get_strategy(strategy_name))[stage]
            history = template_history(db, strategy_name, stage)
        chosen = next((h for h in history if h.version == version), current)
        self.show_result(self._show_templates, chosen, history, version is None)

    def _show_templates(self, chosen: Any, history: list[Any], reset_versions: bool) -> None:
        self.query_one("#template", TextArea).text = chosen.body
        if reset_versions:
            select = self.query_one("#version", Select)
            with select.prevent(Select.Changed):
                select.set_options([(f"v{h.version}", h.version) for h in history])
        lines = [
            Content.assemble(("Versions", "bold"), " (newest first; pick one above to load it)")
        ]
        lines += [
            Content(f"  v{h.version} {h.created_at[:16]} {h.note or ''}")
            for h in sorted(history, key=lambda h: -h.version)
        ]
        self.query_one("#history", Static).update(Content("\n").join(lines))

    # -- actions ------------------------------------------------------------------------
    def action_toggle_strategy(self) -> None:
        """Switch the highlighted strategy on or off (named so it does not shadow Textual's
        `action_toggle(attribute_name)`)."""
        if self.current and self.config is not None:
            settings = self._settings(self.current)
            self._save_settings(self.current, replace(settings, enabled=not settings.enabled))

    def action_save(self) -> None:
        if not self.current or self.config is None:
            self.notify("pick an experiment first (Experiments, 1)", severity="warning")
            return
        message = self.query_one("#strategy-message", Static)
        try:
            budget = int(self.query_one("#budget", Field).value or 0)
            params = json.loads(self.query_one("#params", Field).value or "{}")
            if not isinstance(params, dict):
                raise ValueError('params must be a JSON object like {"rounds": 2}')
            get_strategy(self.current).validate_params(params)
        except (ValueError, json.JSONDecodeError) as exc:
            message.update(Content.assemble(("✗ ", "bold $error"), str(exc)))
            return
        except Exception as exc:  # ConfigError names the key
            message.update(Content.assemble(("✗ ", "bold $error"), str(exc)))
            return
        self._save_settings(
            self.current, replace(self._settings(self.current), budget=budget, params=params)
        )

    @work(thread=True, exclusive=True, group="strategy-save", exit_on_error=False)
    def _save_settings(self, name: str, settings: Any) -> None:
        from pipeline.experiments.store import save_experiment

        config = replace(self.config, strategies={**self.config.strategies, name: settings})
        with self.workspace.db() as db:
            save_experiment(db, config)
        self.app.call_from_thread(self._saved, config, name)

    def _saved(self, config: Any, name: str) -> None:
        self._show_list(config)
        self.query_one("#strategy-message", Static).update(
            Content.assemble(("✓ saved", "bold $success"), f" {name} in experiment {config.name}")
        )

    def action_save_template(self) -> None:
        stage = self.query_one("#stage", Select).value
        if self.current and isinstance(stage, str):
            self._store_template(self.current, stage, self.query_one("#template", TextArea).text)

    @work(thread=True, exclusive=True, group="template-save", exit_on_error=False)
    def _store_template(self, name: str, stage: str, body: str) -> None:
        from pipeline.strategies.prompts import set_template

        with self.workspace.db() as db:
            version, added = set_template(db, get_strategy(name), stage, body, note="edited in tui")
        text = f"saved {name}/{stage} as v{version.version}" if added else "unchanged"
        self.app.call_from_thread(self.notify, text, timeout=3)
        self.app.call_from_thread(self._load_templates, name, stage, None)

    def action_preview(self) -> None:
        stage = self.query_one("#stage", Select).value
        if self.current and isinstance(stage, str):
            body = self.query_one("#template", TextArea).text
            self._preview(self.current, stage, body, self._seed_offset)
            self._seed_offset += 1

    @work(thread=True, exclusive=True, group="template-preview", exit_on_error=False)
    def _preview(self, name: str, stage: str, body: str, offset: int) -> None:
        """The template rendered on the next seed of the working experiment's seed sets."""
        from pipeline.errors import InputError
        from pipeline.generation.preview import preview_prompt

        seed_sets = [ref.name for ref in self.config.seed_sets] if self.config else []
        heading = Content.assemble(
            ("Preview on a real input", "bold"),
            f" from {', '.join(seed_sets) or 'every seed set'} (ctrl+o for the next one)\n",
        )
        try:
            with self.workspace.db() as db:
                text = preview_prompt(
                    db,
                    name,
                    stage,
                    body=body,
                    params=self._settings(name).params,
                    offset=offset,
                    seed_sets=seed_sets,
                )
        except InputError as exc:  # no seeds yet: say what to import
            text = str(exc)
        self.show_result(self.query_one("#preview", Static).update, heading + Content(text))
