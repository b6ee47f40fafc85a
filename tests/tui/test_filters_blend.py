"""Filters and Blend by Pilot: the selection starts from the config, every CLI line shown
reproduces the screen (a test runs it), the judge threshold switches off, exports never
overwrite unasked."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable

from pipeline.config import config_to_data, parse_config
from pipeline.selection import Policy, Selection, kept_ids, strategy_counts
from storage.database import open_db
from tests.tui.helpers import settle, text_of
from workbench.cli.main import cli
from workbench.tui.app import FlamesApp
from workbench.tui.screens.filters import nudged

pytestmark = pytest.mark.asyncio


def cells(app: FlamesApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def set_config(path: Path, toml: str) -> None:
    db = open_db(path)
    config = parse_config(toml, source="test", name="demo")
    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])
    db.conn.close()


def run_cli_line(line: str) -> str:
    """Run a "CLI: flames ..." line as shown, in-process; its output."""
    words = shlex.split(line.removeprefix("CLI:").strip())
    assert words[0] == "flames"
    result = CliRunner().invoke(cli, words[1:])
    assert result.exit_code == 0, (line, result.output, result.exception)
    return result.output


def shown_counts(app: FlamesApp) -> dict[str, int]:
    return {row[0]: int(row[1].replace(",", "")) for row in cells(app, "#counts")[:-1]}


async def test_filters_start_from_the_config_and_the_cli_line_reproduces_every_policy(
    sample_db: Path, tmp_path: Path
) -> None:
    set_config(sample_db, '[filter]\npolicy = "majority"\nnear_dup_max = 0.7\njudge_min = 0.2\n')
    db = open_db(sample_db)
    db.execute("UPDATE solutions SET finish_reason = 'length' WHERE problem_id % 4 = 0")
    db.execute("UPDATE solutions SET reward = id % 3 WHERE id % 2 = 0")
    app = FlamesApp(sample_db, start="filters", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.selection == Selection(policy="majority", near_dup_max=0.7, judge_min=0.2)
        for _ in Policy:  # p cycles through every policy
            await settle(pilot, lambda: "CLI:" in text_of(pilot, "#filter-command"))
            selection = app.selection
            await settle(pilot, lambda s=selection: f"--policy {s.policy.value}" in text_of(pilot, "#filter-command"))  # type: ignore[misc]  # fmt: skip
            expected = strategy_counts(db, 1, selection)
            assert shown_counts(app) == {name: kept for name, kept, _ in expected}
            listing = tmp_path / f"{selection.policy.value}.txt"
            run_cli_line(f"{text_of(pilot, '#filter-command')} --ids {listing}")
            assert [int(i) for i in listing.read_text().split()] == kept_ids(db, 1, selection)
            await pilot.press("p")
            await settle(pilot, lambda s=selection: app.selection.policy != s.policy)  # type: ignore[misc]
        await pilot.press("3")  # the Problems screen reads the same selection
        await settle(pilot)
        assert app.screen.query_one("#problems").query_spec.selection == app.selection  # type: ignore[attr-defined]


async def test_judge_threshold_switches_off_below_zero_and_back(sample_db: Path) -> None:
    assert nudged("min", 0.0, -1) is None and nudged("min", None, 1) == 0.0
    assert nudged("max", 1.0, 1) is None and nudged("max", None, -1) == 1.0
    assert nudged("min", None, -1) is None and nudged("max", 0.5, 1) == 0.51
    app = FlamesApp(sample_db, start="filters", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: len(cells(app, "#counts")) > 1, 20)
        await pilot.press("h")  # histogram: judge -> near-dup -> decontam -> judge
        await pilot.press("h", "h")
        app.screen.query_one("#judge_min").value = "0.01"  # type: ignore[attr-defined]
        await settle(pilot, lambda: app.selection.judge_min == 0.01)
        await pilot.press("minus")
        await settle(pilot, lambda: app.selection.judge_min == 0.0)
        await pilot.press("minus")  # below 0: off, no longer dropping unjudged problems
        await settle(pilot, lambda: app.selection.judge_min is None)
        await settle(pilot, lambda: "judge_min off" in text_of(pilot, "#hist-label"))
        assert "--judge-min off" in text_of(pilot, "#filter-command")
        await pilot.press("plus")
        await settle(pilot, lambda: app.selection.judge_min == 0.0)
        await pilot.press("t")  # switches
        await settle(pilot, lambda: app.selection.allow_truncated)
        assert "t allow_truncated yes" in text_of(pilot, "#switches")
        await pilot.press("x")
        await settle(pilot, lambda: not app.selection.drop_exact_dups)
        await settle(pilot, lambda: "--no-drop-exact-dups" in text_of(pilot, "#filter-command"))


async def test_blend_defaults_export_asks_and_its_cli_line_reproduces_the_file(
    sample_db: Path, tmp_path: Path
) -> None:
    set_config(
        sample_db,
        '[filter]\npolicy = "strict"\njudge_min = 0.1\n[blend]\ntotal = 9\n'
        "ratios = { iqc = 2, paraphrase = 1 }\n",
    )
    app = FlamesApp(sample_db, start="blend", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: len(cells(app, "#plan")) == 2, 20)
        assert app.screen.query_one("#total").value == "9"  # type: ignore[attr-defined]
        out = Path(app.screen.query_one("#out").value)  # type: ignore[attr-defined]
        assert out == sample_db.resolve().parent / "demo-blend.jsonl"  # beside the workspace
        rows = cells(app, "#plan")
        assert [r[0] for r in rows] == ["iqc", "paraphrase"] and rows[0][2] == "6"
        line = text_of(pilot, "#blend-command")
        assert "--policy strict" in line and "--judge-min 0.1" in line and "--total 9" in line
        await pilot.press("e")
        await settle(
            pilot, lambda: out.exists() and "exported" in text_of(pilot, "#blend-status"), 20
        )
        assert "9 examples" in text_of(pilot, "#blend-status")
        first = out.read_text()
        card = json.loads(out.with_suffix(".card.json").read_text())
        assert card["selection"]["judge_min"] == 0.1 and card["models"]["teacher"] == ["teacher"]
        app.screen.query_one("#total").value = "1"  # type: ignore[attr-defined]
        await settle(pilot, lambda: "--total 1" in text_of(pilot, "#blend-command"))
        await pilot.press("e")  # the file exists: asked, and n keeps it
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ConfirmOverwrite")
        await pilot.press("n")
        await settle(pilot)
        assert out.read_text() == first
        await pilot.press("e")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ConfirmOverwrite")
        await pilot.press("y")
        await settle(pilot, lambda: "1 example " in text_of(pilot, "#blend-status"), 20)
        assert len(out.read_text().splitlines()) == 1
        line = text_of(pilot, "#blend-command")
    # The CLI line writes the same file (to another path, as the card's command would).
    again = tmp_path / "again.jsonl"
    run_cli_line(line.replace(str(out), str(again)))
    assert again.read_text() == out.read_text()
