"""What a new user hit (issue 17), each driven by Pilot at 80x24: keys that launch stages
from the config alone, sorting that never hides rows, data never read as markup, absent
signals, one vocabulary, the key bar, the new-experiment dialog, seeds, experiment
management, palette and help wording, and the preview's seed sets."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from textual.content import Content
from textual.widgets import DataTable, Static

from pipeline.experiments.store import create_experiment, list_experiments, save_experiment
from storage.database import open_db
from tests.tui.helpers import settle, text_of
from workbench.cli.main import cli
from workbench.tui import palette
from workbench.tui.app import FlamesApp
from workbench.tui.screens.inspector import InspectorScreen
from workbench.tui.widgets.key_bar import KeyBar
from workbench.tui.widgets.problem_table import ProblemTable

pytestmark = pytest.mark.asyncio

BENCH_ITEM = "A train leaves the station at noon and travels sixty miles in two hours at speed"


def table_cells(app: FlamesApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def capture_launches(monkeypatch: pytest.MonkeyPatch, module: str) -> list[str]:
    launched: list[str] = []

    def fake_launch(db: Any, db_path: Any, command: str, **_: Any) -> int:
        launched.append(command)
        return 99

    monkeypatch.setattr(f"{module}.launch_job", fake_launch)
    return launched


async def test_c_runs_decontamination_from_the_config_alone(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 1: the command `c` launches reproduces with no extra flags and succeeds."""
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": BENCH_ITEM, "answer": "30"}) + "\n")
    db = open_db(sample_db)
    config = create_experiment(db, "quick", preset="quickstart").config
    save_experiment(
        db, replace(config, filter=replace(config.filter, decontam_against=(str(bench),)))
    )
    launched = capture_launches(monkeypatch, "workbench.tui.screens.experiments")
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: len(table_cells(app, "#experiments")) == 2)
        await pilot.press("down", "c")
        await settle(pilot, lambda: bool(launched))
    argv = shlex.split(launched[0])
    assert argv == ["flames", "decontaminate", "quick", "--db", str(sample_db)]
    db.execute(
        "INSERT INTO problems (experiment_id, strategy, text, status) VALUES (2, 'iqc', ?, 'ok')",
        [BENCH_ITEM + " what is it?"],
    )
    result = CliRunner().invoke(cli, argv[1:])
    assert result.exit_code == 0, result.output
    assert "1 of 1 problems contaminated" in result.output


async def test_sorting_by_a_score_never_hides_problems(sample_db: Path) -> None:
    """Item 3: problems without the score sort last, first when reversed."""
    db = open_db(sample_db)
    db.execute("UPDATE scores SET judge_score = NULL WHERE problem_id % 3 = 0")
    db.execute("DELETE FROM scores WHERE problem_id > 55")
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ProblemTable)
        await settle(pilot, lambda: table.row_count == 60 and table.current is not None)
        await pilot.press("o")  # sort by judge_score
        await settle(pilot, lambda: table.query_spec.sort == "judge_score")
        await settle(pilot, lambda: table.current is not None)
        assert table.row_count == 60
        assert table.current is not None and table.current.judge is not None
        await pilot.press("end")
        await settle(pilot, lambda: table.current is not None)
        assert table.current is not None and table.current.judge is None
        await pilot.press("r", "home")  # reversed: the unscored come first
        await settle(pilot, lambda: table.query_spec.descending and table.current is not None)
        assert table.row_count == 60
        assert table.current is not None and table.current.judge is None


TRICKY = r"Solve \[ x^2 = [b]4[/b] \] and $\frac{1}{2}$ [link=x]y[/link] \\ end"


async def test_inspector_shows_data_exactly_as_stored(sample_db: Path) -> None:
    """Item 6: backslashes and brackets from the data are never markup, never doubled."""
    db = open_db(sample_db)
    db.execute("UPDATE problems SET text = ? WHERE id = 4", [TRICKY])
    db.execute(
        "UPDATE stage_outputs SET parsed_json = ? WHERE problem_id = 4",
        [json.dumps({"sections": {"problem": TRICKY}, "finish_reason": "stop"})],
    )
    db.execute("UPDATE requests SET response = ? WHERE key = 'req4'", [TRICKY])
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(InspectorScreen(4))
        await settle(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        # Maths shows as Unicode by default (markup-looking data stays literal) ...
        rendered = " ".join(text_of(pilot, "#inspector-text").split())
        assert "1/2 [link=x]y[/link]" in rendered and "[b]4[/b]" in rendered
        # ... and `\` shows the text exactly as stored.
        await pilot.press("backslash")
        await settle(pilot)
        shown = " ".join(text_of(pilot, "#inspector-text").split())
        assert " ".join(TRICKY.split()) in shown
        provenance = text_of(pilot, "#inspector-provenance")
        assert "problem: " + TRICKY.split()[0] in provenance
        assert provenance.count(r"\frac") == 2 and r"\\frac" not in provenance
        assert '{"' not in provenance  # readable, not a JSON dump


async def test_absent_signals_say_not_yet(sample_db: Path) -> None:
    """Item 7: a problem no stage has scored says so for every signal."""
    db = open_db(sample_db)
    db.execute("DELETE FROM scores WHERE problem_id = 5")
    db.execute("DELETE FROM solutions WHERE problem_id = 5")
    app = FlamesApp(sample_db, start="problems", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(InspectorScreen(5))
        await settle(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        assert "not checked yet" in text_of(pilot, "#inspector-decontam")
        signals = text_of(pilot, "#inspector-scores")
        assert "not solved yet" in signals and "not judged yet" in signals
        assert "near-duplicates: not checked yet" in signals
        assert "not solved yet" in text_of(pilot, "#inspector-solutions")
        assert "not checked yet" in text_of(pilot, "#dup-left")
        verdict = text_of(pilot, "#inspector-selection")
        assert "Selection: ✗ dropped by policy first" in verdict and "not solved yet" in verdict
        db.execute("UPDATE problems SET reject_reason = 'no [problem] tag' WHERE id = 29")
        app.push_screen(InspectorScreen(29))  # rejected by its strategy
        await settle(pilot, lambda: "29" in text_of(pilot, "#inspector-problem"))
        verdict = text_of(pilot, "#inspector-selection")
        assert "✗ dropped" in verdict and "the strategy rejected it (no [problem] tag)" in verdict


async def test_experiments_speak_one_vocabulary(sample_db: Path) -> None:
    """Item 12: generated excludes what a strategy rejected; kept is the selection's."""
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: "generated" in text_of(pilot, "#experiment-counts"))
        header = [str(c.label) for c in app.screen.query_one(DataTable).columns.values()]
        assert "generated" in header and "problems" not in header
        row = table_cells(app, "#experiments")[0]
        assert row[header.index("generated")] == "58" and row[header.index("rejected")] == "2"
        counts = text_of(pilot, "#experiment-counts")
        assert "generated         58" in counts and "rejected          2" in counts
        assert "kept" in counts and "ok " not in counts


# Filters, Blend, Jobs, Runs, Results and Steps join once their screens yield a KeyBar.
@pytest.mark.parametrize("mode", ["experiments", "strategies", "problems", "seeds", "help"])
async def test_key_bar_fits_80_columns_pages_and_keeps_help(sample_db: Path, mode: str) -> None:
    """Item 13: the bar fits, `?` is always on it, and f2 pages through every key."""
    app = FlamesApp(sample_db, start=mode, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bars = list(app.screen.query(KeyBar))
        assert bars, f"{mode} has no key bar"
        bar = bars[0]
        wanted = {text for _, text in bar.items()}
        seen: set[str] = set()
        for _ in range(len(bar.pages())):
            line = str(bar.render())
            assert len(line) <= 80 and line.rstrip().endswith("? help  ^p palette")
            seen |= {text for _, text in bar.pages()[bar.page]}
            await pilot.press("f2")
            await pilot.pause()
        assert seen == wanted


async def test_new_experiment_dialog_labels_names_and_seed_sets(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 14: labelled fields, a free name per preset, an offer to import missing seeds."""
    create_experiment(open_db(sample_db), "flames-paper", preset="quickstart")
    launched = capture_launches(monkeypatch, "workbench.jobs.launcher")
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "CreateExperimentScreen")
        labels = [str(w.render()) for w in app.screen.query(".label")]
        assert labels == ["name", "preset"]
        app.screen.query_one("#preset").value = "flames-paper"  # type: ignore[attr-defined]
        await settle(pilot, lambda: "gsm8k-train" in text_of(pilot, "#create-seeds"))
        assert app.screen.query_one("#name").value == "flames-paper-2"  # type: ignore[attr-defined]
        assert "--preset flames-paper" in text_of(pilot, "#create-command")
        app.screen.query_one("#import-seeds").press()  # type: ignore[attr-defined]
        await settle(pilot, lambda: app.screen.__class__.__name__ == "SeedsScreen")
        await settle(pilot, lambda: app.screen.query_one("#seed-import").display)
        assert app.screen.query_one("#seed-name").value == "gsm8k-train"  # type: ignore[attr-defined]
        await pilot.press(*"champ", "enter")
        await settle(pilot, lambda: bool(launched))
    assert launched == [f"flames seeds import champ --name gsm8k-train --db {sample_db}"]


async def test_seeds_screen_lists_inspects_and_imports(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 14: seed management in the TUI, through the same command as the CLI."""
    launched = capture_launches(monkeypatch, "workbench.jobs.launcher")
    app = FlamesApp(sample_db, start="seeds", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: "Seed question 1" in text_of(pilot, "#seed-seeds"))
        assert table_cells(app, "#seed-sets")[0][:3] == ["gsm8k-mini", "10", "10"]
        await pilot.press("i")
        await pilot.press(*"champ", "tab", *"champ", "enter")
        await settle(pilot, lambda: bool(launched))
    assert launched == [f"flames seeds import champ --name champ --db {sample_db}"]


async def test_clone_rename_delete_experiments(sample_db: Path) -> None:
    """Item 14: clone, rename and delete from the keyboard, with the CLI's functions."""
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: bool(table_cells(app, "#experiments")))
        await pilot.press("C")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "NameScreen")
        await pilot.press("enter")  # the proposed name: demo-copy
        await settle(pilot, lambda: len(table_cells(app, "#experiments")) == 2)
        await pilot.press("down", "R")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "NameScreen")
        app.screen.query_one("#name").value = "second"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, lambda: any("second" in r[1] for r in table_cells(app, "#experiments")))
        await pilot.press("X")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        assert "second" in str(app.screen.query_one(".dialog-title", Static).render())
        await pilot.press("y")
        await settle(pilot, lambda: len(table_cells(app, "#experiments")) == 1)
    assert list_experiments(open_db(sample_db)) == ["demo"]


async def test_palette_and_help_speak_keys_and_words(sample_db: Path) -> None:
    """Item 16: no method names in the palette, keys written as keys in help."""
    for mode in ("filters", "problems", "experiments", "blend", "jobs"):
        app = FlamesApp(sample_db, start=mode, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for command in palette.commands(app, app.screen):
                assert not re.search(r"[a-z_]+\(", command.help), command.help
                # The palette reads both as markup: they must parse, and keep their keys.
                title = Content.from_markup(command.title).plain
                Content.from_markup(command.help)
                assert "_" not in title.rsplit("(", 1)[-1], title
            titles = [Content.from_markup(c.title).plain for c in palette.commands(app, app.screen)]
            if mode == "problems":
                assert "Problems: Search  (/)" in titles
    app = FlamesApp(sample_db, start="help", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = text_of(pilot, "#help-text")
        assert "question mark" not in shown and "square bracket" not in shown
        assert "?, f1" in shown and "[" in shown and "ctrl+q" in shown


async def test_preview_uses_the_working_experiments_seed_sets(sample_db: Path) -> None:
    """Item 17: the quickstart draws from CHAMP, not the workspace's first seed set."""
    db = open_db(sample_db)
    create_experiment(db, "quick", preset="quickstart")
    champ_first = db.execute(
        "SELECT question FROM seeds JOIN seed_sets ON seed_sets.id = seed_set_id "
        "WHERE seed_sets.name = 'champ' ORDER BY seeds.id LIMIT 1"
    ).fetchone()[0]
    app = FlamesApp(sample_db, start="experiments", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: len(table_cells(app, "#experiments")) == 2)
        await pilot.press("down", "enter", "2")
        await settle(pilot, lambda: getattr(app.screen, "current", None) is not None)
        await pilot.press("down", "down", "down", "down")  # iqc: renders a seed
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot, lambda: "Preview" in text_of(pilot, "#preview"))
        preview = " ".join(text_of(pilot, "#preview").split())
        assert "from champ" in preview and "Seed question" not in preview
        assert " ".join(champ_first.split()[:6]) in preview
