"""Snapshot tests at a fixed size (80x24) with the cursor blink off.

Update after an intended change: `.venv/bin/python -m pytest tests/tui/test_snapshots.py
--snapshot-update`, then look at the SVGs in tests/tui/__snapshots__/ before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.tui.helpers import settle
from workbench.tui.app import FlamesApp
from workbench.tui.widgets.problem_table import ProblemTable


async def _table_loaded(pilot: Pilot[None]) -> None:
    table = pilot.app.screen.query_one(ProblemTable)
    await settle(pilot, lambda: table.current is not None)


def test_problems_dark(sample_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_table_loaded)


def test_problems_high_contrast(sample_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    app.theme = "flames-high-contrast"
    assert snap_compare(app, terminal_size=(80, 24), run_before=_table_loaded)


def test_inspector_light(sample_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    app.theme = "flames-light"

    async def open_problem(pilot: Pilot[None]) -> None:
        await _table_loaded(pilot)
        await pilot.press("down", "enter")
        await settle(pilot, lambda: getattr(pilot.app.screen, "detail", None) is not None)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_problem)


def test_help(sample_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(sample_db, start="help", cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
