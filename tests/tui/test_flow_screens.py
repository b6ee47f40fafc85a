"""Runs, Results and the per-step DPO inspector on a workspace that went through `flames run`.

Pilot tests assert on what the screens show and launch; snapshots pin Runs and Results at
80x24 and 200x50 in every theme (`--snapshot-update` after an intended change, then look
at the SVGs before committing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.tui.flow_sample import build_flow_workspace, copy_workspace
from tests.tui.helpers import settle, text_of
from themes import theme_data
from workbench.tui.app import FlamesApp
from workbench.tui.widgets.math_text import MathText


@pytest.fixture(scope="session")
def flow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flow") / "template.db"
    build_flow_workspace(path)
    return path


@pytest.fixture()
def flow_db(flow_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy, opened by a relative path (the commands shown do not name tmp dirs)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLAMES_DATA_DIR", raising=False)
    copy_workspace(flow_template, tmp_path / "flows.db")
    return "flows.db"


def table(pilot: Pilot[None], selector: str) -> DataTable[Any]:
    return pilot.app.screen.query_one(selector, DataTable)


@pytest.mark.asyncio
async def test_runs_shows_curves_checkpoints_and_the_command_it_launches(flow_db: str) -> None:
    app = FlamesApp(flow_db, start="runs", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen: Any = app.screen
        await settle(pilot, lambda: bool(screen.series.get("loss")))
        assert table(pilot, "#runs").row_count == 2  # one student per arm
        assert len(screen.series["loss"]) == 12
        stats = text_of(pilot, "#runs-stats")
        assert "steps/s" in stats and "step 12: score 0.300 ◆best" not in stats  # no best chosen
        assert "checkpoints (2)" in stats
        assert "GPU" in text_of(pilot, "#runs-gpu")
        assert "flames run quickstart --db flows.db" in text_of(pilot, "#runs-form")
        await pilot.press("a", "m")
        await settle(pilot)
        form = text_of(pilot, "#runs-form")
        assert "flames run quickstart --arm suggester_editor --until train --db flows.db" in form
        top = str(app.screen.query_one("ScreenBar").render())
        assert "Runs" in top and "quickstart" in top


@pytest.mark.asyncio
async def test_results_table_drill_down_and_scaling(flow_db: str) -> None:
    app = FlamesApp(flow_db, start="results", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen: Any = app.screen
        await settle(pilot, lambda: screen.view is not None)
        grid = table(pilot, "#results")
        assert [str(grid.get_row_at(i)[0]) for i in range(grid.row_count)] == [
            "base",
            "suggester_editor",
            "distraction_insertion",
        ]
        assert "flames results quickstart" in text_of(pilot, "#results-header")
        grid.move_cursor(row=1, column=1)
        await pilot.press("enter")
        await settle(pilot, lambda: bool(screen.items))
        items = table(pilot, "#result-items")
        assert items.row_count == len(screen.items) > 0
        everything = items.row_count
        await pilot.press("w")
        await settle(pilot)
        assert all(not item["correct"] for item in screen.items)
        assert len(screen.items) <= everything
        await pilot.press("w")
        await settle(pilot, lambda: len(screen.items) == everything)
        items.focus()
        await pilot.press("f")
        await settle(
            pilot,
            lambda: "most like this item" in screen.query_one("#result-output", MathText).source,
        )
        await pilot.press("v")
        await settle(pilot)
        assert screen.query_one("#results-scaling").display


@pytest.mark.asyncio
async def test_step_inspector_labels_values_marks_the_pit_and_shows_rollouts(flow_db: str) -> None:
    app = FlamesApp(flow_db, start="steps", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen: Any = app.screen
        await settle(pilot, lambda: screen.detail is not None)
        steps = table(pilot, "#steps")
        labels = [str(steps.get_row_at(i)[1]) for i in range(steps.row_count)]
        assert labels == [
            "✓ Q=1 still solvable",
            "✓ Q=1 still solvable",
            "✓ Q=1 still solvable",
            "◆ critical: first pit",
        ]
        question = screen.query_one("#steps-question", MathText)
        assert "What is 6/2 + 4?" in str(question.render())  # LaTeX rendered
        await pilot.press("r")
        await settle(pilot)
        assert "rollouts after step" in text_of(pilot, "#steps-focus-label")
        await pilot.press("backslash")
        await settle(pilot)
        assert "$\\frac{6}{2} + 4$" in str(question.render())  # raw LaTeX one key away


def test_latex_is_rendered_not_read_as_markup() -> None:
    from workbench.tui.maths import render_maths

    assert render_maths(r"\[ \frac{1}{2} \] and [red]x[/red]") == "1/2\nand [red]x[/red]"
    assert render_maths("He pays $5 and gets 20% off.") == "He pays $5 and gets 20% off."
    assert render_maths(r"$\sqrt{x}\le\pi$, \boxed{\dfrac{3}{4}}") == "√(x)≤π, ⟦3/4⟧"


THEMES = list(theme_data())


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
@pytest.mark.parametrize("screen", ["runs", "results"])
def test_snapshot(
    flow_db: str, snap_compare: Any, screen: str, size: tuple[int, int], theme: str
) -> None:
    app = FlamesApp(flow_db, start=screen, cursor_blink=False)
    app.theme = theme

    async def loaded(pilot: Pilot[None]) -> None:
        target: Any = pilot.app.screen
        if screen == "runs":
            await settle(
                pilot,
                lambda: bool(target.series.get("loss")) and "GPU" in text_of(pilot, "#runs-gpu"),
            )
        else:
            await settle(pilot, lambda: target.view is not None)

    assert snap_compare(app, terminal_size=size, run_before=loaded)


@pytest.mark.asyncio
async def test_inspector_shows_solutions_maths_as_unicode_and_raw_on_a_key(flow_db: str) -> None:
    from workbench.tui.screens.inspector import InspectorScreen

    app = FlamesApp(flow_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = InspectorScreen(1)  # the flow's first problem: solved, with LaTeX in its solutions
        await app.push_screen(screen)
        await settle(pilot, lambda: screen.detail is not None)
        assert "√(4)" in text_of(pilot, "#inspector-solutions")
        await pilot.press("backslash")
        await settle(pilot)
        assert "\\sqrt{4}" in text_of(pilot, "#inspector-solutions")
