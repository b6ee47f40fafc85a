"""Blend planning (ratios + total -> needed vs available) and the SFT export with its card."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.config import config_to_data, parse_config
from pipeline.datasets import blend
from pipeline.errors import ConfigError, InputError
from pipeline.selection import Selection, kept_ids, strategy_counts
from tests.tui.sample import build_workspace
from workbench.cli.main import cli


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
    selection = Selection()
    kept = {name: k for name, k, _ in strategy_counts(db, 1, selection)}
    plan = blend.plan_blend(db, 1, blend.FLAMES_PRESET, 40, selection)
    assert [line.strategy for line in plan] == list(blend.FLAMES_PRESET)
    assert sum(line.needed for line in plan) == 40
    for line in plan:
        assert line.available == kept[line.strategy]
    assert any("suggester_editor" in w for w in blend.warnings(plan))  # needs 20, ~11 kept


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("messages", ".jsonl"), ("prompt-completion", ".parquet")]
)
def test_export_writes_the_dataset_and_a_card(db, tmp_path: Path, fmt: str, suffix: str) -> None:  # type: ignore[no-untyped-def]
    import datasets

    out = tmp_path / f"train{suffix}"
    selection = Selection(judge_min=0.2)
    result = blend.export_blend(
        db, 1, {"iqc": 1, "paraphrase": 1}, 10, selection, out, record_format=fmt, name="t",
        command="flames blend ...", models={"generator": ["gen"], "judge": ["j"]},
    )  # fmt: skip
    builder = "json" if suffix == ".jsonl" else "parquet"
    rows = datasets.load_dataset(builder, data_files=str(out), split="train")
    assert len(rows) == result.total_written == 10
    if fmt == "messages":
        assert [m["role"] for m in rows[0]["messages"]] == ["user", "assistant"]
    else:
        assert set(rows.column_names) == {"prompt", "completion"}
    card = json.loads(result.card_json.read_text())
    assert card["total_written"] == 10 and card["selection"] == selection.to_dict()
    assert card["experiment"] == "demo" and card["kind"] == "sft"
    assert card["models"]["generator"] == ["gen-model"]  # what the rows say beats the config
    assert card["models"]["judge"] == ["j"] and card["models"]["teacher"] == ["teacher"]
    assert card["files"] == {out.name: result.card.files[out.name]}
    assert len(card["files"][out.name]) == 64
    assert {s["strategy"] for s in card["strategies"]} == {"iqc", "paraphrase"}
    text = result.card_md.read_text()
    assert "| iqc |" in text and "judge_min 0.2" in text and "near_dup_max off" in text
    stored = db.execute("SELECT total, ratios_json, filters_json FROM blends WHERE name = 't'")
    total, ratios, filters = stored.fetchone()
    assert total == 10 and json.loads(ratios) == {"iqc": 1, "paraphrase": 1}
    assert Selection.from_dict(json.loads(filters)) == selection
    assert set(result.problem_ids) <= set(kept_ids(db, 1, selection))


def test_export_never_overwrites_unasked(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "x.jsonl"
    blend.export_blend(db, 1, {"iqc": 1}, 2, Selection(), out)
    before = out.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        blend.export_blend(db, 1, {"iqc": 1}, 3, Selection(), out)
    assert out.read_bytes() == before
    out.unlink()  # the card alone still blocks: a dataset and its card stay a pair
    with pytest.raises(InputError, match=r"x\.card\.json: already exists"):
        blend.export_blend(db, 1, {"iqc": 1}, 3, Selection(), out)
    result = blend.export_blend(db, 1, {"iqc": 1}, 3, Selection(), out, overwrite=True)
    assert result.total_written == 3


def test_truncated_training_solutions_are_skipped_and_counted(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db.execute("UPDATE solutions SET text = text || ' #' || id")  # one text per solution
    db.execute("UPDATE solutions SET finish_reason = 'length' WHERE problem_id IN (1, 6, 11, 16)")
    plan = blend.plan_blend(db, 1, {"iqc": 1}, 100, Selection())
    assert plan[0].truncated == 4
    assert any("cut at the token limit" in w for w in blend.warnings(plan))
    result = blend.export_blend(db, 1, {"iqc": 1}, 100, Selection(), tmp_path / "t.jsonl")
    lines = result.path.read_text().splitlines()
    texts = [json.loads(line)["messages"][1]["content"] for line in lines]
    cut = {r[0] for r in db.execute("SELECT text FROM solutions WHERE finish_reason = 'length'")}
    assert texts and not set(texts) & cut
    assert result.card.skipped == {"truncated": 4} and result.skipped_truncated == 4
    allowed = blend.export_blend(
        db, 1, {"iqc": 1}, 100, Selection(allow_truncated=True), tmp_path / "a.jsonl"
    )
    assert allowed.total_written == result.total_written + 4


def test_reference_verified_exports_only_correct_solutions(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db.execute("UPDATE scores SET reference_agrees = 1")
    out = tmp_path / "v.jsonl"
    blend.export_blend(db, 1, {"iqc": 1}, 5, Selection(policy="reference_verified"), out)
    texts = {json.loads(line)["messages"][1]["content"] for line in out.read_text().splitlines()}
    correct = {r[0] for r in db.execute("SELECT text FROM solutions WHERE verdict = 'correct'")}
    assert texts and texts <= correct


def test_export_into_a_missing_folder_names_it(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="does not exist"):
        blend.export_blend(db, 1, {"iqc": 1}, 5, Selection(), tmp_path / "nope" / "x.jsonl")


def set_config(db, toml: str) -> None:  # type: ignore[no-untyped-def]
    config = parse_config(toml, source="test")
    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])


def test_cli_blend_defaults_to_the_config_and_export_sft(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = build_workspace(path, 60)
    set_config(
        db,
        '[filter]\npolicy = "strict"\n[blend]\ntotal = 6\nratios = { iqc = 1, paraphrase = 1 }\n',
    )
    runner = CliRunner()
    out = tmp_path / "b.jsonl"
    result = runner.invoke(cli, ["blend", "--db", str(path), "-e", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "policy strict" in result.output and "wrote 6 examples" in result.output
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["command"].startswith("flames blend") and "--policy strict" in card["command"]
    assert card["selection"]["policy"] == "strict"
    again = runner.invoke(cli, ["blend", "--db", str(path), "-e", "demo", "--out", str(out)])
    assert isinstance(again.exception, InputError) and "--force" in str(again.exception)
    one = runner.invoke(
        cli,
        ["blend", "--db", str(path), "-e", "demo", "--total", "1", "--out", str(out), "--force"],
    )
    assert one.exit_code == 0 and "wrote 1 example " in one.output
    # export sft without --out writes to the workspace's output folder, never into the cwd
    result = runner.invoke(
        cli, ["export", "sft", "--db", str(path), "-e", "demo", "--format", "prompt-completion"]
    )
    assert result.exit_code == 0, result.output
    written = tmp_path / "w-out" / "demo-sft.jsonl"
    ids = kept_ids(db, 1, Selection(policy="strict"))
    assert len(written.read_text().splitlines()) == len(ids)
    command = json.loads((tmp_path / "w-out" / "demo-sft.card.json").read_text())["command"]
    assert "--policy strict" in command and "--decontam-max 0.95" in command
    # The card's reproduce line writes the same file (here to another path).
    words = shlex.split(command.replace(str(written), str(tmp_path / "again.jsonl")))
    assert runner.invoke(cli, words[1:]).exit_code == 0
    assert (tmp_path / "again.jsonl").read_text() == written.read_text()
    result = runner.invoke(
        cli, ["export", "sft", "--db", str(path), "-e", "demo", "--blend", "blend", "--out",
              str(tmp_path / "blend.parquet")],
    )  # fmt: skip
    assert result.exit_code == 0 and "wrote 1 example " in result.output
    bad = runner.invoke(
        cli, ["blend", "--db", str(path), "-e", "demo", "--ratio", "iqc=x", "--total", "5"]
    )
    assert bad.exit_code != 0 and "STRATEGY=SHARE" in bad.output


def test_migration_rewrites_stored_blends_in_the_new_spelling(tmp_path: Path) -> None:
    from sqlite_utils import Database

    from storage.database import connect, open_db
    from storage.migrations import migrations

    path = tmp_path / "old.db"
    old = Database(connect(path))
    migrations.apply(old, stop_before="0006_selection_signals")
    old.execute(
        "INSERT INTO experiments (id, name, config_toml, config_json) VALUES (1, 'e', '', '{}')"
    )
    old.execute(
        "INSERT INTO blends (experiment_id, name, ratios_json, total, filters_json) VALUES "
        "(1, 'b', '{}', 5, ?)",
        [json.dumps({"policy": "majority+first", "max_nn_sim": 0.9, "max_decontam": 0.95,
                     "min_judge": None, "drop_exact_dups": False, "honour_marks": True})],
    )  # fmt: skip
    old.execute(
        "INSERT INTO requests (key, model, params_json, prompt, status, finish_reason) "
        "VALUES ('k', 'm', '{}', 'p', 'done', 'length')"
    )
    old.execute(
        "INSERT INTO problems (id, experiment_id, strategy, text) VALUES (1, 1, 'iqc', 't')"
    )
    old.execute(
        "INSERT INTO solutions (problem_id, model, sample_index, request_key, text) "
        "VALUES (1, 'm', 0, 'k', 's')"
    )
    old.conn.close()
    db = open_db(path)
    filters = db.execute("SELECT filters_json FROM blends").fetchone()[0]
    assert Selection.from_dict(json.loads(filters)) == Selection(
        policy="majority_first", near_dup_max=0.9, decontam_max=0.95, drop_exact_dups=False
    )
    assert db.execute("SELECT finish_reason FROM solutions").fetchone()[0] == "length"
