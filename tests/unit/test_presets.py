"""The paper presets are the paper (issue 15 section 4): values, sources, arms, and a `show`
that a reader can check line by line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.config import FLAMES_BLEND, Policy, arm_config, parse_config, preset_text
from pipeline.strategies import STRATEGY_NAMES
from workbench.cli.main import cli

PAPER_STRATEGIES = set(STRATEGY_NAMES) - {"zero_shot_generation"}
SIX_POLICIES = {"first", "strict", "majority", "majority_first", "judge", "judge_reward"}
SOURCES = ("[paper]", "[notes]", "[choice]", "[hw]")


@pytest.mark.parametrize("name", ["flames-paper", "flames-blend"])
def test_every_value_cites_where_it_comes_from(name: str) -> None:
    text = preset_text(name)
    table = ""
    pending = False  # a comment line above a value cites it
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped
            pending = False
            continue
        if stripped.startswith("#"):
            pending = pending or any(tag in stripped for tag in SOURCES)
            continue
        if not stripped or "=" not in stripped or table in ("[[arms]]",):
            pending = False
            continue
        key = stripped.split("=", 1)[0].strip()
        if table == "[experiment]" and key in ("name", "description"):
            continue
        cited = pending or any(tag in stripped for tag in SOURCES) or "switched on" in stripped
        assert cited, f"{name}:{number}: {stripped!r} does not say where its value comes from"
        pending = False


def test_the_paper_preset_is_the_controlled_setup() -> None:
    paper = parse_config(preset_text("flames-paper"))
    assert paper.models.student.model == "deepseek-ai/deepseek-math-7b-base"
    assert paper.models.generator.model == "Qwen/Qwen2.5-32B-Instruct"
    assert paper.models.teacher.model == "Qwen/Qwen2.5-Math-7B-Instruct"
    t = paper.training
    assert (t.method, t.lora, t.epochs, t.batch_size, t.checkpoints) == ("sft", False, 5.0, 4, 10)
    assert t.select_benchmarks == ("gsm8k", "math") and paper.evaluation.checkpoint == "best"
    assert t.accelerate_config == "deepspeed-zero3"
    assert set(paper.strategies) == PAPER_STRATEGIES
    for cfg in paper.strategies.values():
        assert (cfg.budget, cfg.budget_mode, cfg.enabled) == (150_000, "kept", True)
    assert [r.name for r in paper.seed_sets] == ["gsm8k-train", "math-train"]
    assert paper.filter.decontam_against == (
        "gsm8k=hf:openai/gsm8k:main:test",
        "math=hf:DigitalLearningGmbH/MATH-lighteval:default:test",
    )  # the full test sets through hf: ids, not MATH-500
    assert (paper.filter.decontam_max, paper.filter.ngram, paper.solve.k) == (0.95, 8, 3)
    assert set(paper.evaluation.benchmarks) == {
        "gsm8k",
        "math",
        "college_math",
        "olympiadbench",
        "gsmplus",
        "gsmplus_distraction",
    }
    qc = [a for a in paper.arms if a.factor == "filter.policy"]
    assert {arm_config(paper, a).filter.policy for a in qc} == SIX_POLICIES <= set(Policy)
    strategy_arms = [arm_config(paper, a) for a in paper.arms if a.factor == "strategy"]
    assert sorted(next(iter(c.blend.ratios)) for c in strategy_arms) == sorted(PAPER_STRATEGIES)
    assert all(len(c.blend.ratios) == 1 for c in strategy_arms)
    assert [a.name for a in paper.arms if a.baseline] == ["qc-first"]


def test_the_blend_preset_is_the_final_dataset() -> None:
    blend = parse_config(preset_text("flames-blend"))
    assert blend.blend.ratios == FLAMES_BLEND
    assert blend.models.student.model == "Qwen/Qwen2.5-Math-7B"
    assert {n: c.budget for n, c in blend.strategies.items()} == {
        n: int(blend.blend.total * r) for n, r in FLAMES_BLEND.items()
    }


def test_show_prints_the_annotated_config(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    runner = CliRunner()
    made = runner.invoke(
        cli, ["experiment", "new", "paper", "--preset", "flames-paper", "--db", db]
    )
    assert made.exit_code == 0, made.output
    shown = runner.invoke(cli, ["experiment", "show", "paper", "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "arm qc-judge_reward" in shown.output and "no near-dup" in shown.output
    stored = shown.output.split("config (as stored):\n", 1)[1]
    assert "[notes] the controlled comparisons fine-tune DeepSeek-Math-7B" in stored
    as_stored, preset = tomllib.loads(stored), tomllib.loads(preset_text("flames-paper"))
    assert as_stored == preset  # every line of the preset, comments and all, as created
    brief = runner.invoke(cli, ["experiment", "show", "paper", "--brief", "--db", db])
    assert "config (as stored)" not in brief.output
