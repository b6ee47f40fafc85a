"""Snapshot tests at 80x24 (the SSH size: the whole key bar must show) and 200x50, with the
cursor blink off.

Update after an intended change: `.venv/bin/python -m pytest tests/tui/test_snapshots.py
--snapshot-update`, then look at the SVGs in tests/tui/__snapshots__/ before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from storage.database import open_db
from tests.tui.helpers import settle
from workbench.tui.app import FlamesApp
from workbench.tui.widgets.problem_table import ProblemTable

SMALL = (80, 24)
LARGE = (200, 50)


@pytest.fixture()
def fixed_db(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample workspace with fixed timestamps, opened by a relative path (the commands
    on screen name it), so snapshots do not depend on the clock or the temp folder."""
    db = open_db(sample_db)
    for table in ("experiments", "seed_sets"):
        db.execute(f"UPDATE {table} SET created_at = '2026-01-02T03:04:05.000Z'")
    db.conn.close()
    monkeypatch.chdir(sample_db.parent)
    return Path(sample_db.name)


async def _table_loaded(pilot: Pilot[None]) -> None:
    table = pilot.app.screen.query_one(ProblemTable)
    await settle(pilot, lambda: table.current is not None)


async def _open_problem(pilot: Pilot[None]) -> None:
    await _table_loaded(pilot)
    await pilot.press("down", "enter")
    await settle(pilot, lambda: getattr(pilot.app.screen, "detail", None) is not None)


def test_problems_dark(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="problems", cursor_blink=False)
    assert snap_compare(app, terminal_size=SMALL, run_before=_table_loaded)


def test_problems_high_contrast(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="problems", cursor_blink=False)
    app.theme = "flames-high-contrast"
    assert snap_compare(app, terminal_size=SMALL, run_before=_table_loaded)


def test_problems_large(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="problems", cursor_blink=False)
    assert snap_compare(app, terminal_size=LARGE, run_before=_table_loaded)


def test_inspector_light(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="problems", cursor_blink=False)
    app.theme = "flames-light"
    assert snap_compare(app, terminal_size=SMALL, run_before=_open_problem)


def test_inspector_large(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="problems", cursor_blink=False)
    assert snap_compare(app, terminal_size=LARGE, run_before=_open_problem)


def test_help(fixed_db: Path, snap_compare: Any) -> None:
    app = FlamesApp(fixed_db, start="help", cursor_blink=False)
    assert snap_compare(app, terminal_size=SMALL, run_before=settle)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x50"])
def test_experiments(fixed_db: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    async def loaded(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: "generated" in str(pilot.app.screen.query_one(
            "#experiment-counts").render()))  # fmt: skip

    app = FlamesApp(fixed_db, start="experiments", cursor_blink=False)
    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_experiments_second_key_page(fixed_db: Path, snap_compare: Any) -> None:
    async def paged(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)

    app = FlamesApp(fixed_db, start="experiments", cursor_blink=False)
    assert snap_compare(app, terminal_size=SMALL, run_before=paged)


def test_new_experiment_dialog_for_a_preset_lacking_seeds(
    fixed_db: Path, snap_compare: Any
) -> None:
    async def dialog(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: pilot.app.screen.query("#preset"))
        pilot.app.screen.query_one("#preset").value = "flames-paper"  # type: ignore[attr-defined]
        await settle(pilot, lambda: pilot.app.screen.query_one("#import-seeds").display)

    app = FlamesApp(fixed_db, start="experiments", cursor_blink=False)
    assert snap_compare(app, terminal_size=SMALL, run_before=dialog)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x50"])
def test_seeds(fixed_db: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    async def loaded(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: "Seed question" in str(pilot.app.screen.query_one(
            "#seed-seeds").render()))  # fmt: skip

    app = FlamesApp(fixed_db, start="seeds", cursor_blink=False)
    assert snap_compare(app, terminal_size=size, run_before=loaded)
