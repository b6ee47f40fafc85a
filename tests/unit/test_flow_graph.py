"""The stage graph: which nodes arms share, for every factor an arm can vary."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import parse_config, preset_text
from pipeline.errors import ConfigError
from pipeline.flow.graph import BASE_ARM, SHARED_STAGES, build_graph
from pipeline.flow.runner import select_nodes


def config_with(arms: str, extra: str = "") -> Any:
    text = preset_text("quickstart").split("[[arms]]")[0]
    return parse_config(text + extra + arms, name="exp")


def shared_between(graph: Any, a: str, b: str) -> set[str]:
    return {
        stage
        for stage, ident in graph.arm_stages[a].items()
        if graph.arm_stages[b].get(stage) == ident
    }


def test_arms_differing_in_policy_share_generation_and_solving_only() -> None:
    graph = build_graph(
        config_with(
            """
[[arms]]
name = "first"
overrides = { "filter.policy" = "first" }
[[arms]]
name = "strict"
overrides = { "filter.policy" = "strict" }
"""
        )
    )
    assert shared_between(graph, "first", "strict") == set(SHARED_STAGES)
    assert graph.arms == ["first", "strict"]
    # One node per shared stage, select..eval per arm, one base evaluation.
    stages = [n.stage for n in graph.nodes.values()]
    assert stages.count("generate") == 1 and stages.count("solve") == 1
    assert stages.count("select") == 2 and stages.count("eval") == 3
    assert graph.arm_stages[BASE_ARM].keys() == {"eval"}


def test_data_size_ladder_shares_selection_and_differs_from_blend_on() -> None:
    arms = "".join(
        f'[[arms]]\nname = "n{n}"\nfactor = "blend.total"\noverrides = {{ "blend.total" = {n} }}\n'
        for n in (4, 8, 16)
    )
    graph = build_graph(config_with(arms))
    assert shared_between(graph, "n4", "n16") == {*SHARED_STAGES, "select"}


def test_strategy_arms_share_one_generation_over_the_union_of_their_plans() -> None:
    arms = """
[[arms]]
name = "se"
overrides = { "strategies.distraction_insertion.enabled" = false }
[[arms]]
name = "di"
overrides = { "strategies.suggester_editor.enabled" = false }
"""
    graph = build_graph(config_with(arms))
    generate = next(n for n in graph.nodes.values() if n.stage == "generate")
    assert set(generate.inputs["strategies"]) == {"suggester_editor", "distraction_insertion"}
    select = {arm: graph.nodes[graph.arm_stages[arm]["select"]] for arm in ("se", "di")}
    assert select["se"].inputs["plan"] == {"suggester_editor": 8}
    assert select["di"].inputs["plan"] == {"distraction_insertion": 8}
    assert shared_between(graph, "se", "di") == set(SHARED_STAGES)


def test_larger_budget_in_one_arm_raises_the_shared_plan() -> None:
    arms = """
[[arms]]
name = "small"
[[arms]]
name = "big"
overrides = { "strategies.suggester_editor.budget" = 11 }
"""
    graph = build_graph(config_with(arms))
    generate = next(n for n in graph.nodes.values() if n.stage == "generate")
    assert generate.inputs["strategies"]["suggester_editor"]["budget"] == 11


def test_dpo_arm_trains_from_the_sft_student_of_the_same_data() -> None:
    arms = """
[[arms]]
name = "sft"
overrides = { "training.method" = "sft" }
[[arms]]
name = "dpo"
overrides = { "training.method" = "dpo" }
[[arms]]
name = "step"
overrides = { "training.method" = "step_dpo" }
"""
    graph = build_graph(config_with(arms))
    sft_train = graph.arm_stages["sft"]["train"]
    for arm in ("dpo", "step"):
        train = graph.nodes[graph.arm_stages[arm]["train"]]
        dataset = graph.nodes[graph.arm_stages[arm]["dataset"]]
        assert sft_train in train.upstream and sft_train in dataset.upstream
    assert graph.nodes[sft_train].arms == ("sft", "dpo", "step")
    # The SFT student is trained once for the three arms.
    assert [n.stage for n in graph.nodes.values()].count("train") == 3
    # Asking for the DPO arm alone still runs its SFT student first.
    order = [n.ident for n in select_nodes(graph, arms=["dpo"])]
    assert order.index(sft_train) < order.index(graph.arm_stages["dpo"]["dataset"])


def test_student_model_arms_have_their_own_base_row_inputs() -> None:
    arms = """
[[arms]]
name = "small"
baseline = true
[[arms]]
name = "other"
overrides = { "models.student.model" = "some/other-model" }
"""
    graph = build_graph(config_with(arms))
    assert shared_between(graph, "small", "other") == {*SHARED_STAGES, "select", "blend", "dataset"}
    base = graph.nodes[graph.arm_stages[BASE_ARM]["eval"]]
    assert base.inputs["student"]["model"] == "embedded:smollm2-135m-instruct"


def test_arms_cannot_change_what_the_shared_stages_read() -> None:
    arms = """
[[arms]]
name = "a"
[[arms]]
name = "b"
overrides = { "models.teacher.model" = "other/teacher" }
"""
    with pytest.raises(ConfigError, match="differ in 'models.teacher'"):
        build_graph(config_with(arms))


def test_until_and_arm_choose_nodes() -> None:
    graph = build_graph(config_with('[[arms]]\nname = "a"\n[[arms]]\nname = "b"\n'))
    stages = [n.stage for n in select_nodes(graph, until="solve")]
    assert stages == list(SHARED_STAGES)
    with pytest.raises(ConfigError, match="no arm 'zzz'"):
        select_nodes(graph, arms=["zzz"])
    with pytest.raises(ConfigError, match="unknown stage"):
        select_nodes(graph, until="bake")


def test_no_arms_is_one_default_arm() -> None:
    graph = build_graph(config_with(""))
    assert graph.arms == ["default"]


def test_blend_ratio_arms_share_everything_up_to_the_blend() -> None:
    arms = """
[[arms]]
name = "flames"
baseline = true
overrides = { "blend.ratios" = { suggester_editor = 0.5, distraction_insertion = 0.5 } }
[[arms]]
name = "mostly_se"
overrides = { "blend.ratios" = { suggester_editor = 0.9, distraction_insertion = 0.1 } }
"""
    graph = build_graph(config_with(arms))
    assert shared_between(graph, "flames", "mostly_se") == {*SHARED_STAGES, "select"}
