"""Blend planning (ratios + total -> needed vs available) and JSONL export with a card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.datasets import blend
from pipeline.errors import ConfigError
from pipeline.selection.thresholds import Selection, strategy_counts
from tests.tui.sample import build_workspace


@pytest.fixture()
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_workspace(tmp_path / "w.db", 60)


def test_split_budget_sums_to_total_with_largest_remainders() -> None:
    counts = blend.split_budget(blend.FLAMES_PRESET, 1001)
    assert sum(counts.values()) == 1001
    assert counts["suggester_editor"] in (500, 501)
    assert blend.split_budget({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}


def test_bad_ratios_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="negative"):
        blend.normalise_ratios({"iqc": -1})
    with pytest.raises(ConfigError, match="all zero"):
        blend.normalise_ratios({"iqc": 0})


def test_plan_reports_available_kept_and_shortfalls(db) -> None:  # type: ignore[no-untyped-def]
    selection = Selection(policy="first")
    kept = {name: k for name, k, _ in strategy_counts(db, 1, selection)}
    plan = blend.plan_blend(db, 1, blend.FLAMES_PRESET, 40, selection)
    assert [line.strategy for line in plan] == list(blend.FLAMES_PRESET)
    assert sum(line.needed for line in plan) == 40
    for line in plan:
        assert line.available == kept[line.strategy]
    short = blend.warnings(plan)
    assert any("suggester_editor" in w for w in short)  # needs 20, only ~11 kept


@pytest.mark.parametrize("fmt", blend.FORMATS)
def test_export_writes_jsonl_and_a_dataset_card(db, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "train.jsonl"
    selection = Selection(policy="first")
    result = blend.export_blend(
        db,
        1,
        {"iqc": 1, "paraphrase": 1},
        10,
        selection,
        out,
        fmt=fmt,
        name="t",
        command="flames blend ...",
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == sum(result.written.values()) == 10
    if fmt == "messages":
        assert [m["role"] for m in lines[0]["messages"]] == ["user", "assistant"]
    else:
        assert set(lines[0]) == {"prompt", "completion"}
    card = json.loads(result.card_json.read_text())
    assert card["total_written"] == 10 and card["selection"]["policy"] == "first"
    assert {s["strategy"] for s in card["strategies"]} == {"iqc", "paraphrase"}
    assert "| iqc |" in result.card_md.read_text()
    stored = db.execute("SELECT total, ratios_json FROM blends WHERE name = 't'").fetchone()
    assert stored[0] == 10 and json.loads(stored[1]) == {"iqc": 1, "paraphrase": 1}


def test_reference_verified_exports_only_correct_solutions(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db.execute("UPDATE scores SET reference_agrees = 1")
    out = tmp_path / "v.jsonl"
    selection = Selection(policy="reference-verified")
    blend.export_blend(db, 1, {"iqc": 1}, 5, selection, out)
    texts = {json.loads(line)["messages"][1]["content"] for line in out.read_text().splitlines()}
    correct = {r[0] for r in db.execute("SELECT text FROM solutions WHERE verdict = 'correct'")}
    assert texts and texts <= correct


def test_export_into_a_missing_folder_names_it(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        blend.export_blend(db, 1, {"iqc": 1}, 5, Selection(), tmp_path / "nope" / "x.jsonl")


def test_cli_blend_and_export_sft(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli.main import cli

    path = tmp_path / "w.db"
    build_workspace(path, 60).conn.close()
    runner = CliRunner()
    out = tmp_path / "b.jsonl"
    result = runner.invoke(
        cli,
        [
            "blend",
            "--db",
            str(path),
            "-e",
            "demo",
            "--preset",
            "flames",
            "--total",
            "12",
            "--out",
            str(out),
            "--name",
            "mix",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "suggester_editor" in result.output and len(out.read_text().splitlines()) == 12
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["command"].startswith("flames blend")
    sft = tmp_path / "sft.jsonl"
    result = runner.invoke(
        cli,
        [
            "export",
            "sft",
            "--db",
            str(path),
            "-e",
            "demo",
            "--blend",
            "mix",
            "--out",
            str(sft),
            "--format",
            "prompt-completion",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(sft.read_text().splitlines()) == 12
    result = runner.invoke(
        cli, ["blend", "--db", str(path), "-e", "demo", "--ratio", "iqc=x", "--total", "5"]
    )
    assert result.exit_code != 0 and "STRATEGY=SHARE" in result.output
