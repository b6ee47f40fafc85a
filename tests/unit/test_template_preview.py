"""Template previews use real stored seeds or a taxonomy pick, like generation does."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError, InputError
from pipeline.generation.preview import preview_prompt
from storage.database import open_db
from tests.tui.sample import build_workspace


def test_seed_strategies_render_stored_seeds() -> None:
    db = build_workspace(":memory:", 3)
    text = preview_prompt(db, "iqc", body="Q: {{seed_question}} A: {{seed_answer}}", offset=2)
    assert text == "Q: Seed question 3: Tom has 3 apples and buys 5 more. A: 8"
    assert "Seed question 4" in preview_prompt(db, "iqc", body="{{seed_question}}", seed_id=4)


def test_preview_uses_the_experiments_seed_sets() -> None:
    db = build_workspace(":memory:", 3)
    db.execute("INSERT INTO seed_sets (id, name, source) VALUES (2, 'mine', 'test')")
    db.execute(
        "INSERT INTO seeds (id, seed_set_id, source_line, question, answer, content_hash) "
        "VALUES (100, 2, 1, 'My own seed', '5', 'm1')"
    )
    body = "{{seed_question}}"
    assert preview_prompt(db, "iqc", body=body, seed_sets=["mine"]) == "My own seed"
    assert preview_prompt(db, "iqc", body=body, seed_sets=["mine"], offset=7) == "My own seed"
    assert preview_prompt(db, "iqc", body=body).startswith("Seed question 1")
    with pytest.raises(InputError, match="'absent' of this experiment is not imported"):
        preview_prompt(db, "iqc", body=body, seed_sets=["absent"])


def test_later_stages_show_what_earlier_stages_would_fill() -> None:
    db = build_workspace(":memory:", 3)
    text = preview_prompt(db, "suggester_editor", "edit")
    assert "[suggestions from an earlier stage]" in text and "{{" not in text


def test_taxonomy_strategy_renders_a_real_topic() -> None:
    db = open_db(":memory:")
    text = preview_prompt(db, "taxonomy_key_concepts", body="{{subject}}/{{topic}}: {{concepts}}")
    subject, _, rest = text.partition("/")
    assert subject and rest and ":" in rest and "{{" not in text


def test_missing_seeds_and_bad_params_are_explained() -> None:
    db = open_db(":memory:")
    with pytest.raises(InputError, match="flames seeds import"):
        preview_prompt(db, "iqc", body="{{seed_question}}")
    with pytest.raises(ConfigError, match="unknown parameter"):
        preview_prompt(db, "iqc", body="x", params={"nope": 1})
    with pytest.raises(InputError, match="no prompted stage .nope."):
        preview_prompt(db, "iqc", "nope")


def test_a_strategy_whose_first_stage_trains_previews_its_first_prompt() -> None:
    db = build_workspace(":memory:", 3)
    text = preview_prompt(db, "qft")
    assert text and "{{" not in text
