"""The quickstart through every stage with a scripted model and no data folder at all.

Only training is a double here (a real TRL run is the functional test's job); generation,
dedup, decontamination against the embedded held-out CHAMP part, solving, selection, the
blend, the dataset and the evaluation of the base row and both arms are the product's.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from pipeline.flow.graph import BASE_ARM, STAGES
from pipeline.flow.results import load_results
from pipeline.flow.run import ensure_experiment, run_experiment
from pipeline.flow.runner import StageContext, StageResult
from pipeline.flow.stages import STAGE_FUNCTIONS
from pipeline.flow.status import flow_status
from pipeline.llm.request import Request
from pipeline.reports.results import results_table
from tests.unit.strategy_doubles import SECTIONS, STORIES, ScriptedBackend


def reply(prompt: str, request: Request) -> str:
    """Every tag a stage may ask for; solver and eval prompts get a boxed answer."""
    n = zlib.crc32(prompt.encode()) % 90 + 10
    if "\\boxed{}" in prompt:
        return f"Add them up.\nThe total is \\boxed{{{n % 3}}}"
    if "Here is a math problem:" in prompt:  # distraction insertion: the seed plus a detail
        seed = prompt.split("Here is a math problem:", 1)[1].split("\n\nAdd ", 1)[0].strip()
        return f"<problem>{seed} A neighbour keeps {n} goats in a red barn.</problem>"
    story = STORIES[n % len(STORIES)].format(n=n, m=n % 7 + 2)
    problem = f"<problem>{story}</problem>"
    return problem + "".join(f"<{tag}>{n} with detail</{tag}>" for tag in SECTIONS)


class FakeTrainer:
    """Stands in for `pipeline.training.train`: counts calls, 'writes' a model folder."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, ctx: StageContext) -> StageResult:
        self.calls.append(ctx.node.label)
        model = ctx.node_dir() / "model"
        model.mkdir(exist_ok=True)
        return StageResult("trained (double)", {"model": str(model), "training_run_id": None})


@pytest.fixture()
def no_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No data folder anywhere: the quickstart must stand on what is installed."""
    monkeypatch.delenv("FLAMES_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


def run(db: Database, tmp_path: Path, trainer: FakeTrainer, **kwargs: Any) -> Any:
    return run_experiment(
        db,
        "quickstart",
        out_dir=tmp_path / "out",
        backend=ScriptedBackend(reply),
        stage_functions={**STAGE_FUNCTIONS, "train": trainer},
        **kwargs,
    )


def test_quickstart_reaches_results_for_the_base_row_and_both_arms(
    db: Database, tmp_path: Path, no_data: None
) -> None:
    config, _ = ensure_experiment(db, "quickstart", "quickstart")
    trainer = FakeTrainer()
    report = run(db, tmp_path, trainer)
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    status = flow_status(db, "quickstart")
    arms = [arm.name for arm in config.arms]
    for arm in arms:
        assert all(status.arm_state(arm, stage).state == "done" for stage in STAGES)  # type: ignore[union-attr]
    # Decontamination really ran, against the embedded held-out part.
    decontam = next(o for o in report.outcomes if o.node.stage == "decontaminate")
    assert "champ_heldout" in decontam.summary
    table = results_table(db, "quickstart")  # what `flames results quickstart` prints
    assert [row.arm for row in table.rows] == [BASE_ARM, *arms]
    assert all(cell.n > 0 for row in table.rows for cell in row.cells.values())
    assert load_results(db, 1).table.rows == table.rows  # the Results screen: the same rows
    # Arm membership was recorded for every arm.
    for arm in arms:
        assert (
            db.execute("SELECT COUNT(*) FROM arm_problems WHERE arm = ?", [arm]).fetchone()[0] > 0
        )
    # Run again: nothing is redone.
    again = run(db, tmp_path, trainer)
    assert {o.status for o in again.outcomes} == {"reused"}
    assert len(trainer.calls) == len(set(trainer.calls))


def test_missing_benchmark_is_an_error_naming_the_fix(
    db: Database, tmp_path: Path, no_data: None
) -> None:
    ensure_experiment(db, "quickstart", "quickstart")
    from dataclasses import replace

    from pipeline.experiments.store import load_experiment, save_experiment

    config = load_experiment(db, "quickstart")
    # Attempt budgets: fill-to-target would already need the benchmark while generating.
    attempts = {name: replace(s, budget_mode="attempts") for name, s in config.strategies.items()}
    config = replace(config, strategies=attempts)
    save_experiment(db, replace(config, filter=replace(config.filter, decontam_against=("gsm8k",))))
    report = run(db, tmp_path, FakeTrainer(), until="decontaminate")
    failed = next(o for o in report.outcomes if o.node.stage == "decontaminate")
    assert failed.status == "failed"
    assert "--data-dir" in (failed.error or "") and "decontam_against = []" in (failed.error or "")
    # An explicit opt-out is visible, not silent.
    save_experiment(db, replace(config, filter=replace(config.filter, decontam_against=())))
    report = run(db, tmp_path, FakeTrainer(), until="decontaminate")
    skipped = next(o for o in report.outcomes if o.node.stage == "decontaminate")
    assert skipped.status == "done" and "opt-out" in skipped.summary


def test_a_dpo_arm_builds_its_pairs_from_its_sft_student(
    db: Database, tmp_path: Path, no_data: None
) -> None:
    from dataclasses import replace

    from pipeline.config.schema import ArmConfig
    from pipeline.experiments.store import load_experiment, save_experiment

    ensure_experiment(db, "quickstart", "quickstart")
    config = load_experiment(db, "quickstart")
    dpo = ArmConfig(name="dpo", factor="training.method", overrides={"training.method": "dpo"})
    save_experiment(db, replace(config, arms=(*config.arms, dpo)))
    trainer = FakeTrainer()
    report = run(db, tmp_path, trainer, arms=["dpo"], until="dataset")
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    stages = [(o.node.stage, o.node.inputs.get("method")) for o in report.outcomes]
    # The SFT student of the same data (shared with the baseline arm) is trained first,
    # then samples the DPO pairs; --until dataset does not cut off what dataset needs.
    assert stages.index(("train", "sft")) < stages.index(("dataset", "dpo"))
    assert len(trainer.calls) == 1
    dataset = next(o for o in report.outcomes if o.node.label == "dataset dpo (dpo)")
    assert dataset.summary.startswith("dpo from the SFT student")


def test_an_arm_with_a_larger_budget_raises_the_shared_generation(
    db: Database, tmp_path: Path, no_data: None
) -> None:
    from dataclasses import replace

    from pipeline.config.schema import ArmConfig
    from pipeline.experiments.store import load_experiment, save_experiment

    ensure_experiment(db, "quickstart", "quickstart")
    config = load_experiment(db, "quickstart")
    attempts = {
        n: replace(s, budget_mode="attempts", budget=2) for n, s in config.strategies.items()
    }
    big = ArmConfig(name="big", overrides={"strategies.suggester_editor.budget": 4})
    save_experiment(db, replace(config, strategies=attempts, arms=(*config.arms, big)))
    report = run(db, tmp_path, FakeTrainer(), until="select")
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    count = "SELECT COUNT(*) FROM problems WHERE strategy = 'suggester_editor'"
    assert db.execute(count).fetchone()[0] == 4  # the union plan: the big arm's budget
    owned = "SELECT COUNT(*) FROM arm_problems WHERE arm = ?"
    assert db.execute(owned, ["big"]).fetchone()[0] == 4 + 2  # its 4 and distraction's 2
    assert db.execute(owned, ["suggester_editor"]).fetchone()[0] == 2  # the plan's prefix


def test_an_arm_with_a_lower_budget_blends_only_its_own_problems(
    db: Database, tmp_path: Path, no_data: None
) -> None:
    """A data-size ladder by budget: the small arm owns a prefix of the shared plan, and its
    blend draws from that prefix only, never from the problems only a bigger arm asked for."""
    import json
    from dataclasses import replace

    from pipeline.config.schema import ArmConfig
    from pipeline.experiments.store import load_experiment, save_experiment

    ensure_experiment(db, "quickstart", "quickstart")
    config = load_experiment(db, "quickstart")
    attempts = {
        n: replace(s, budget_mode="attempts", budget=4) for n, s in config.strategies.items()
    }
    small = ArmConfig(
        name="small",
        overrides={
            "strategies.suggester_editor.budget": 2,
            "strategies.distraction_insertion.enabled": False,
        },
    )
    save_experiment(db, replace(config, strategies=attempts, arms=(*config.arms, small)))
    report = run(db, tmp_path, FakeTrainer(), arms=["small"], until="blend")
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    owned = {
        int(r[0])
        for r in db.execute("SELECT problem_id FROM arm_problems WHERE arm = 'small'").fetchall()
    }
    assert 0 < len(owned) <= 2
    files = list((tmp_path / "out").rglob("blend.jsonl"))
    assert len(files) == 1
    texts = {
        str(text): int(pid) for pid, text in db.execute("SELECT id, text FROM problems").fetchall()
    }
    lines = files[0].read_text().splitlines()
    used = {texts[json.loads(line)["messages"][0]["content"]] for line in lines}
    assert used and used <= owned
