"""Template versions in the database, safe rendering, and export/import round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.generation.preview import preview_prompt
from pipeline.strategies import get_strategy
from pipeline.strategies.prompts import (
    current_templates,
    default_templates,
    ensure_defaults,
    export_templates,
    import_templates,
    set_template,
)
from pipeline.strategies.template import check_template, render
from storage.database import open_db
from storage.templates import (
    add_template_version,
    latest_template,
    seed_default_template,
    template_history,
)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "flames.db")


def test_versions_append_and_identical_bodies_do_not(db: Database) -> None:
    v1, added = add_template_version(db, "zero_shot_generation", "write", "one")
    assert (v1.version, added) == (1, True)
    v2, added = add_template_version(db, "zero_shot_generation", "write", "two", "edit")
    assert (v2.version, added) == (2, True)
    same, added = add_template_version(db, "zero_shot_generation", "write", "two")
    assert (same.version, added) == (2, False)
    assert [v.body for v in template_history(db, "zero_shot_generation", "write")] == ["one", "two"]
    assert latest_template(db, "zero_shot_generation", "write") == v2


def test_defaults_are_seeded_once_and_upgraded_only_when_unedited(db: Database) -> None:
    assert seed_default_template(db, "zero_shot_generation", "write", "default A")
    assert not seed_default_template(db, "zero_shot_generation", "write", "default A")
    assert seed_default_template(
        db, "zero_shot_generation", "write", "default B"
    )  # a package upgrade
    add_template_version(db, "zero_shot_generation", "write", "my edit", "mine")
    assert not seed_default_template(db, "zero_shot_generation", "write", "default C")
    latest = latest_template(db, "zero_shot_generation", "write")
    assert latest is not None and latest.body == "my edit"


def test_rendering_is_one_pass_substitution(db: Database) -> None:
    assert render("Q: {{ a }} / {{a}} / {{b}}", {"a": "{{b}}", "b": "B"}) == "Q: {{b}} / {{b}} / B"
    assert render("{x} {0} %(a)s {{ missing }}", {"a": "A"}) == "{x} {0} %(a)s "
    for bad in (
        "{{ a.__class__.__mro__ }}",
        "{{ a + 1 }}",
        "{{ __import__('os') }}",
        "{% for x in y %}",
    ):
        if "{%" in bad:
            check_template(bad, {"a"})  # plain text to us, no tags
            continue
        with pytest.raises(InputError):
            check_template(bad, {"a"})
    with pytest.raises(InputError, match="unknown variable"):
        check_template("{{ seed_anwser }}", {"seed_answer"})


def test_set_template_checks_the_stage_and_variables(db: Database) -> None:
    strategy = get_strategy("paraphrase")
    version, added = set_template(db, strategy, "rephrase", "Say {{seed_question}} again.")
    assert added and version.version == 2
    with pytest.raises(InputError, match="no stage 'write'"):
        set_template(db, strategy, "write", "x")
    with pytest.raises(InputError, match="empty"):
        set_template(db, strategy, "rephrase", "  \n")


def test_export_edit_import_round_trip(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    written = export_templates(db, folder)
    assert len(written) == 20 and (folder / "fobar" / "strategy.json").exists()
    assert (folder / "iqc" / "compose.txt").read_text() == default_templates()["iqc"][
        "compose"
    ] + "\n"
    results = import_templates(db, folder)
    assert not any(r.added for r in results)  # unchanged files add no version
    edited = "Please compose: {{problem}} (answer {{answer}}) <problem></problem><answer></answer>"
    (folder / "iqc" / "compose.txt").write_text(edited + "\n")
    results = import_templates(db, folder, note="tuned")
    assert [(r.strategy, r.stage, r.version) for r in results if r.added] == [("iqc", "compose", 2)]
    assert current_templates(db, get_strategy("iqc"))["compose"].body == edited
    export_templates(db, tmp_path / "again")
    assert (tmp_path / "again" / "iqc" / "compose.txt").read_text() == edited + "\n"


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("nosuch/write.txt", "x", "'nosuch' is not a strategy"),
        ("qft/rewrite.txt", "x", "no stage 'rewrite'"),
        ("zero_shot_generation/write.txt", "{{ topic }}", "unknown variable"),
        ("zero_shot_generation/write.txt", "{{ 1 + 1 }}", "not a placeholder"),
    ],
)
def test_a_bad_file_aborts_the_import_and_changes_nothing(
    db: Database, tmp_path: Path, path: str, text: str, message: str
) -> None:
    folder = tmp_path / "prompts"
    export_templates(db, folder)
    (folder / "paraphrase" / "rephrase.txt").write_text("Changed {{seed_question}}\n")
    target = folder / path
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        import_templates(db, folder)
    assert str(target.parent if "nosuch" in path else target) in str(info.value)
    assert len(template_history(db, "paraphrase", "rephrase")) == 1


def test_preview_renders_a_real_seed(db: Database, tmp_path: Path) -> None:
    from tests.unit.strategy_doubles import SEEDS, workspace

    (tmp_path / "ws").mkdir()
    ws, _ = workspace(tmp_path / "ws", {"zero_shot_generation": {"budget": 1}})
    text = preview_prompt(ws, get_strategy("distraction_insertion"), "distract")
    assert SEEDS[0]["question"] in text and "{{" not in text
    text = preview_prompt(ws, get_strategy("suggester_editor"), "edit")
    assert "[suggestions from an earlier stage]" in text
    ensure_defaults(db)
    with pytest.raises(InputError, match="no seeds"):
        preview_prompt(db, get_strategy("paraphrase"), "rephrase")
