"""The Strategies screen shows each strategy's source note; space toggles without shadowing
Textual's own `action_toggle`."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widgets import DataTable

from pipeline.strategies import STRATEGIES
from tests.tui.helpers import settle, text_of
from workbench.tui.app import FlamesApp
from workbench.tui.screens.strategies import StrategiesScreen


def test_the_toggle_action_does_not_shadow_textuals() -> None:
    assert "action_toggle" not in StrategiesScreen.__dict__
    assert StrategiesScreen.action_toggle is Screen.action_toggle
    assert any(b.action == "toggle_strategy" for b in StrategiesScreen.BINDINGS)  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_the_highlighted_strategy_shows_its_source_note(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="strategies", cursor_blink=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#strategy-list", DataTable)
        table.move_cursor(row=list(STRATEGIES).index("iqc"))
        await settle(pilot, lambda: "MMIQC" in text_of(pilot, "#strategy-summary"))
        shown = " ".join(text_of(pilot, "#strategy-summary").split())
        assert "Source: Iterative Question Composing" in shown and "Changed:" in shown
