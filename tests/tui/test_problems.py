"""Problems screen and inspector, driven by Pilot at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.database import open_db
from tests.tui.helpers import settle, text_of
from workbench.tui.app import FlamesApp
from workbench.tui.screens.inspector import InspectorScreen
from workbench.tui.widgets.problem_table import ProblemTable

pytestmark = pytest.mark.asyncio


async def test_table_counts_pages_and_searches(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ProblemTable)
        await settle(pilot, lambda: table.row_count == 60 and table.current is not None)
        assert "1/60" in text_of(pilot, "#problem-status")
        assert table.cached_rows <= 200  # one page, never the whole table
        await pilot.press("down", "down")
        assert table.current is not None and table.current.id == 3
        await pilot.press("slash")
        await pilot.press(*"apples", "enter")
        expected = (
            open_db(sample_db)
            .execute("SELECT COUNT(*) FROM problems_fts WHERE problems_fts MATCH 'apples'")
            .fetchone()[0]
        )
        await settle(pilot, lambda: table.row_count == expected)
        assert "search 'apples'" in text_of(pilot, "#problem-status")
        assert 0 < expected < 60


async def test_sort_reverse_and_kept_filter(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ProblemTable)
        await settle(pilot, lambda: table.current is not None)
        await pilot.press("o", "r")  # sort by judge_score, descending
        await settle(pilot, lambda: table.current is not None)
        top = (
            open_db(sample_db)
            .execute("SELECT problem_id FROM scores ORDER BY judge_score DESC LIMIT 1")
            .fetchone()[0]
        )
        assert table.query_spec.sort == "judge_score" and table.current.id == top  # type: ignore[union-attr]
        await pilot.press("v")  # kept only
        await settle(pilot, lambda: table.query_spec.kept == "kept" and table.row_count < 60)
        assert "showing: kept" in text_of(pilot, "#problem-status")


async def test_inspector_shows_everything_and_stores_marks(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ProblemTable)
        await settle(pilot, lambda: table.current is not None)
        await pilot.press("down", "enter")  # problem 2 has a recorded duplicate (3)
        await settle(
            pilot, lambda: isinstance(app.screen, InspectorScreen) and app.screen.detail is not None
        )
        assert "Problem 2" in text_of(pilot, "#inspector-problem")
        solutions = text_of(pilot, "#inspector-solutions")
        assert "correct" in solutions and "incorrect" in solutions and "unverifiable" in solutions
        assert "seed #3" in text_of(pilot, "#inspector-provenance")
        assert "raw response 2" in text_of(pilot, "#inspector-provenance")
        assert "Nearest #3" in text_of(pilot, "#dup-right")
        assert "judge" in text_of(pilot, "#inspector-scores")
        await pilot.press("d")
        await settle(pilot, lambda: "drop" in text_of(pilot, "#inspector-mark"))
        await pilot.press("n", *"too easy", "enter")
        await settle(pilot, lambda: "too easy" in text_of(pilot, "#inspector-mark"))
        row = (
            open_db(sample_db)
            .execute("SELECT mark, note FROM marks WHERE problem_id = 2")
            .fetchone()
        )
        assert tuple(row) == ("drop", "too easy")
        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: "Problem 3" in text_of(pilot, "#inspector-problem"))
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, InspectorScreen)


async def test_decontamination_match_is_shown(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(InspectorScreen(17))
        await settle(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        assert "gsm8k" in text_of(pilot, "#inspector-decontam")


async def test_score_range_and_seed_set_filters(sample_db: Path) -> None:
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ProblemTable)
        await settle(pilot, lambda: table.current is not None)
        await pilot.press("t")
        app.screen.query_one("#range-column").value = "judge_score"  # type: ignore[attr-defined]
        app.screen.query_one("#range-min").value = "0.5"  # type: ignore[attr-defined]
        await pilot.press("enter")
        db = open_db(sample_db)
        expected = db.execute("SELECT COUNT(*) FROM scores WHERE judge_score >= 0.5").fetchone()[0]
        await settle(pilot, lambda: table.row_count == expected)
        await settle(pilot, lambda: table.current is not None)
        assert table.current.judge >= 0.5  # type: ignore[union-attr]
        app.screen.query_one("#seed-set").value = 1  # type: ignore[attr-defined]
        await settle(pilot, lambda: table.query_spec.seed_set_id == 1)
        assert table.row_count == expected  # every sample problem has a seed in set 1
