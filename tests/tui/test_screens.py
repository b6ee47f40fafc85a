"""Experiments, strategies, jobs, help, themes and the palette, by Pilot (filters and blend:
test_filters_blend.py)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

from pipeline.selection import Selection
from storage.database import open_db
from storage.settings import get_setting
from tests.tui.helpers import settle, text_of
from workbench.tui import palette
from workbench.tui.app import FlamesApp

pytestmark = pytest.mark.asyncio


def cells(app: FlamesApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_jobs_screen_shows_progress_log_and_cancels(sample_db: Path) -> None:
    from workbench.jobs.launcher import launch_job

    db = open_db(sample_db)
    done = launch_job(
        db, sample_db, shlex.join([sys.executable, "-c", "print('job says hi')"]), kind="test"
    )
    slow = launch_job(
        db,
        sample_db,
        shlex.join([sys.executable, "-c", "import time; time.sleep(60)"]),
        kind="slow",
    )
    app = FlamesApp(sample_db, start="jobs", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: any("running" in r[1] for r in cells(app, "#jobs")), 20)
        await settle(
            pilot,
            lambda: any(r[0] == str(done) and "done" in r[1] for r in cells(app, "#jobs")),
            15,
        )
        assert "CLI:" in text_of(pilot, "#job-command")
        await pilot.press("c")  # the newest job (the slow one) is highlighted first
        await settle(
            pilot,
            lambda: any(r[0] == str(slow) and "cancelled" in r[1] for r in cells(app, "#jobs")),
            10,
        )
        await pilot.press("down")
        await settle(pilot, lambda: "job says hi" in text_of(pilot, "#job-log"), 20)
    assert db.execute("SELECT status FROM jobs WHERE id = ?", [slow]).fetchone()[0] == "cancelled"


async def test_experiments_list_counts_and_launch(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched: list[str] = []

    def fake_launch(db, db_path, command, *, kind, experiment_id=None):  # type: ignore[no-untyped-def]
        launched.append(command)
        return 99

    monkeypatch.setattr("workbench.tui.screens.experiments.launch_job", fake_launch)
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: "generated" in text_of(pilot, "#experiment-counts"))
        assert "demo" in cells(app, "#experiments")[0][1]
        assert "kept" in text_of(pilot, "#experiment-counts")
        assert f"flames generate demo --db {sample_db}" in text_of(pilot, "#experiment-commands")
        await pilot.press("g")
        await settle(pilot, lambda: bool(launched))
        assert launched == [f"flames generate demo --db {sample_db}"]


async def test_create_experiment_and_edit_strategies(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"qs", "enter")
        await settle(pilot, lambda: app.experiment_name == "qs", 20)
        db = open_db(sample_db)
        assert db.execute("SELECT preset FROM experiments WHERE name = 'qs'").fetchone()[0]
        await pilot.press("2")
        await settle(pilot, lambda: app.screen.current is not None)  # type: ignore[attr-defined]
        before = cells(app, "#strategy-list")[0][1]
        await pilot.press("space")
        await settle(pilot, lambda: cells(app, "#strategy-list")[0][1] != before)
        from pipeline.experiments.store import load_experiment

        enabled = load_experiment(db, "qs").strategies["few_shot"].enabled
        assert enabled == ("on" in cells(app, "#strategy-list")[0][1])
        app.screen.query_one("#params").value = '{"nope": 1}'  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: "unknown parameter" in text_of(pilot, "#strategy-message"))
        await pilot.press("ctrl+o")
        await settle(pilot, lambda: "Original problem:" in text_of(pilot, "#preview"))
        editor = app.screen.query_one("#template")
        editor.text = editor.text + "\nBe concise."  # type: ignore[attr-defined]
        await pilot.press("ctrl+t")
        await settle(pilot, lambda: "v2" in text_of(pilot, "#history"))
        body = db.execute(
            "SELECT body FROM templates WHERE strategy = 'few_shot' ORDER BY version DESC LIMIT 1"
        ).fetchone()[0]
        assert body.endswith("Be concise.")


async def test_help_palette_theme_and_quit(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "ctrl+q" in text_of(pilot, "#help-text")
        titles = [c.title for c in palette.commands(app, app.screen)]
        for mode in ("Experiments", "Strategies", "Problems", "Filters", "Blend", "Jobs", "Help"):
            assert any(t.startswith(f"Go to {mode}") for t in titles)
        assert {"Theme: dark", "Theme: light", "Theme: high contrast"} <= set(titles)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Theme: light")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, lambda: app.theme == "flames-light")
        await settle(pilot, lambda: get_setting(open_db(sample_db), "theme") == "flames-light")
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Go to Blend")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "BlendScreen")
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    again = FlamesApp(sample_db, cursor_blink=False)
    assert again.theme == "flames-light"


async def test_ctrl_q_quits_from_a_text_field(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "a")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize(
    "mode", ["experiments", "strategies", "problems", "filters", "blend", "jobs", "help"]
)
async def test_every_screen_opens_on_an_empty_workspace(empty_db: Path, mode: str) -> None:
    app = FlamesApp(empty_db, start=mode, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.__class__.__name__.lower().startswith(mode)
    assert app.return_code in (0, None)
    assert Selection() == app.selection
