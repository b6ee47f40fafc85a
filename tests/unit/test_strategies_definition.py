"""The strategy definitions: names, schemas, notes, default templates, loops."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.strategies import STRATEGIES, STRATEGY_NAMES, get_strategy, validate_params
from pipeline.strategies.prompts import default_templates
from pipeline.strategies.template import check_template, placeholders


def test_the_twelve_strategies_of_the_paper_and_one_honest_baseline() -> None:
    assert len(STRATEGY_NAMES) == 13
    assert set(STRATEGY_NAMES) - {"zero_shot_generation"} == {
        "few_shot",
        "paraphrase",
        "key_concepts",
        "seeded_key_concepts",
        "suggester_editor",
        "iqc",
        "ask_me_anything",
        "self_verification",
        "fobar",
        "qft",
        "taxonomy_key_concepts",
        "distraction_insertion",
    }


def test_answer_rules_follow_the_spec() -> None:
    rules = {name: s.answer_rule for name, s in STRATEGIES.items()}
    assert {n for n, r in rules.items() if r == "keeps"} == {"paraphrase", "distraction_insertion"}
    assert {n for n, r in rules.items() if r == "derives"} == {
        "fobar",
        "self_verification",
        "iqc",  # the composer's answer, confirmed by an independent solve
        "ask_me_anything",  # the number each problem hides
    }
    assert all(STRATEGIES[n].answer_from for n, r in rules.items() if r != "none")


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_every_definition_carries_a_note_on_its_source(name: str) -> None:
    note = STRATEGIES[name].note
    assert note.startswith("Source: ") and "Kept" in note or "project baseline" in note
    assert note == STRATEGIES[name].describe()["note"]


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_every_stage_has_a_default_template_that_checks(name: str) -> None:
    strategy = STRATEGIES[name]
    templates = default_templates()[name]
    assert set(templates) == {s.name for s in strategy.template_stages()}
    for stage in strategy.template_stages():
        body = templates[stage.name]
        check_template(body, strategy.variables())
        for section in stage.sections if not stage.whole_reply else ():
            assert f"<{section}>" in body and f"</{section}>" in body  # asks for what it parses
        if strategy.inputs in ("seed", "seed_answer") and stage is strategy.stages[0]:
            assert {"seed_question", "problem"} & set(placeholders(body))


def test_few_shot_shows_one_seed_after_fixed_examples() -> None:
    body = default_templates()["few_shot"]["write"]
    assert placeholders(body) == ["seed_question"]
    assert body.count("Original problem:") == 4 and body.count("New problem:") == 4
    assert get_strategy("few_shot").inputs == "seed"


def test_qft_trains_before_it_samples_and_zero_shot_is_separate() -> None:
    qft = get_strategy("qft")
    assert [(s.name, s.kind) for s in qft.stages] == [("finetune", "train"), ("sample", "llm")]
    assert qft.inputs == "seed_questions" and qft.stage("sample").whole_reply
    assert [s.name for s in qft.template_stages()] == ["sample"]
    zero = get_strategy("zero_shot_generation")
    assert zero.inputs == "none" and [s.kind for s in zero.stages] == ["llm"]


def test_params_are_validated_with_the_key_named() -> None:
    assert validate_params("suggester_editor", {}) == {"rounds": 2, "accept_untagged": False}
    assert validate_params("suggester_editor", {"rounds": 4})["rounds"] == 4
    assert validate_params("paraphrase", {"accept_untagged": True}) == {"accept_untagged": True}
    with pytest.raises(ConfigError, match=r"strategies\.suggester_editor\.params\.rounds.*maximum"):
        validate_params("suggester_editor", {"rounds": 9})
    with pytest.raises(ConfigError, match=r"params\.rounds: expected an integer"):
        validate_params("suggester_editor", {"rounds": "two"})
    with pytest.raises(ConfigError, match=r"params\.depth: unknown parameter.*rounds"):
        validate_params("suggester_editor", {"depth": 1})
    with pytest.raises(ConfigError, match=r"params\.level: 'phd' is not one of"):
        validate_params("zero_shot_generation", {"level": "phd"})
    with pytest.raises(ConfigError, match=r"params\.levels: unknown value"):
        validate_params("taxonomy_key_concepts", {"levels": ["kindergarten"]})
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        get_strategy("nope")


def test_loops_unroll_in_round_order() -> None:
    steps = get_strategy("suggester_editor").schedule({"rounds": 3})
    assert [(s.name, r) for s, r in steps] == [
        ("suggest", 0),
        ("edit", 0),
        ("suggest", 1),
        ("edit", 1),
        ("suggest", 2),
        ("edit", 2),
    ]
    assert [(s.name, r) for s, r in get_strategy("fobar").schedule({})] == [
        ("mask", 0),
        ("compose", 0),
    ]


def test_definitions_describe_as_json_data() -> None:
    import json

    for strategy in STRATEGIES.values():
        data = json.loads(json.dumps(strategy.describe()))
        assert data["name"] == strategy.name
        assert [s["name"] for s in data["stages"]] == [s.name for s in strategy.stages]


def test_taxonomy_subjects_are_checked_against_the_taxonomy() -> None:
    assert validate_params("taxonomy_key_concepts", {"subjects": ["calculus"]})["subjects"] == [
        "calculus"
    ]
    with pytest.raises(ConfigError, match=r"params\.subjects: unknown value\(s\) calculas"):
        validate_params("taxonomy_key_concepts", {"subjects": ["calculas"]})
