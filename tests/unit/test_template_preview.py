"""Template previews use real stored seeds or a taxonomy pick, like generation does."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.generation.preview import render_preview
from storage.database import open_db
from tests.tui.sample import build_workspace


def test_seed_strategies_render_stored_seeds() -> None:
    db = build_workspace(":memory:", 3)
    text = render_preview(db, "iqc", "Q: {{seed_question}} A: {{seed_answer}}", {}, offset=2)
    assert text == "Q: Seed question 3: Tom has 3 apples and buys 5 more. A: 8"
    few = render_preview(db, "few_shot", "{{k}}|{{examples}}", {"k": 2})
    assert few.startswith("2|Problem 1:\nSeed question 1") and "Problem 2:" in few


def test_taxonomy_strategy_renders_a_real_topic() -> None:
    db = open_db(":memory:")
    text = render_preview(db, "taxonomy_key_concepts", "{{subject}}/{{topic}}: {{concepts}}", {})
    subject, _, rest = text.partition("/")
    assert subject and rest and ":" in rest and "{{" not in text


def test_missing_seeds_and_bad_params_are_explained() -> None:
    db = open_db(":memory:")
    assert "flames seeds import" in render_preview(db, "iqc", "{{seed_question}}", {})
    with pytest.raises(ConfigError, match="unknown parameter"):
        render_preview(db, "iqc", "x", {"nope": 1})
