"""The runner: every node once, reruns skip finished nodes, a kill mid-training resumes."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from pipeline.config import preset_text
from pipeline.experiments.store import create_experiment, experiment_id, load_experiment
from pipeline.experiments.store import save_experiment as save
from pipeline.flow.graph import STAGES, build_graph
from pipeline.flow.runner import StageContext, StageResult, run_graph
from pipeline.flow.status import flow_status, status_lines
from pipeline.progress import ProgressEvent

ARMS = """
[[arms]]
name = "first"
baseline = true
overrides = { "filter.policy" = "first" }
[[arms]]
name = "strict"
overrides = { "filter.policy" = "strict" }
[[arms]]
name = "dpo"
overrides = { "training.method" = "dpo" }
"""


class Stages:
    """Stage doubles that count their calls; `train` can be made to die once (a kill)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.kill_train_once = False
        self.blend_content = "same"
        self.failures: dict[str, int] = {}

    def functions(self) -> dict[str, Any]:
        return {stage: self._make(stage) for stage in STAGES}

    def _make(self, stage: str) -> Any:
        def run(ctx: StageContext) -> StageResult:
            self.calls[ctx.node.label] += 1
            ctx.progress(ProgressEvent(stage, 1, 2))
            if stage == "train" and self.kill_train_once:
                self.kill_train_once = False
                raise KeyboardInterrupt
            if stage in ("dataset", "train"):
                assert ("sft_train" in ctx.upstream) == (ctx.node.inputs["method"] == "dpo")
            digest = f"blend:{ctx.arm}:{self.blend_content}" if stage == "blend" else None
            return StageResult(f"{stage} ok", {"arm": ctx.arm}, self.failures.pop(stage, 0), digest)

        return run


@pytest.fixture()
def experiment(db: Database, tmp_path: Path) -> str:
    path = tmp_path / "exp.toml"
    path.write_text(preset_text("quickstart").split("[[arms]]")[0] + ARMS, encoding="utf-8")
    create_experiment(db, "exp", config_path=path)
    return "exp"


def run(db: Database, name: str, stages: Stages, tmp_path: Path, **kwargs: Any) -> Any:
    graph = build_graph(load_experiment(db, name))
    return run_graph(
        db, experiment_id(db, name), graph, stages.functions(), out=tmp_path / "out", **kwargs
    )


def test_every_node_runs_once_and_a_rerun_reuses_them(
    db: Database, experiment: str, tmp_path: Path
) -> None:
    stages = Stages()
    events: list[ProgressEvent] = []
    report = run(db, experiment, stages, tmp_path, progress=events.append)
    assert report.ok
    assert all(count == 1 for count in stages.calls.values())
    assert stages.calls["generate"] == 1 and stages.calls["train dpo (sft)"] == 0
    # first, strict and dpo's SFT prerequisite share one SFT student (same data, same config).
    assert sum(1 for label in stages.calls if label.startswith("train")) == 3
    # One job-wide bar: it only moves forward and ends full.
    done = [e.done for e in events]
    assert done == sorted(done) and events[-1].done == events[-1].total
    status = flow_status(db, experiment)
    assert status.complete
    assert status_lines(status)[1].startswith("first")
    again = run(db, experiment, stages, tmp_path)
    assert {o.status for o in again.outcomes} == {"reused"}
    assert all(count == 1 for count in stages.calls.values())


def test_killed_during_training_resumes_without_redoing_finished_stages(
    db: Database, experiment: str, tmp_path: Path
) -> None:
    stages = Stages()
    stages.kill_train_once = True
    report = run(db, experiment, stages, tmp_path)
    assert report.outcomes[-1].status == "interrupted"
    killed = report.outcomes[-1].node.label
    assert flow_status(db, experiment).states[report.outcomes[-1].node.ident].state == "running"
    before = Counter(stages.calls)
    report = run(db, experiment, stages, tmp_path)
    assert report.ok
    redone = {
        label for label, n in stages.calls.items() if n > before.get(label, 0) and before.get(label)
    }
    assert redone == {killed}  # only the interrupted train ran again
    assert flow_status(db, experiment).complete


def test_config_change_reruns_only_what_it_touches(
    db: Database, experiment: str, tmp_path: Path
) -> None:
    stages = Stages()
    run(db, experiment, stages, tmp_path)
    config = load_experiment(db, experiment)
    save(
        db,
        dataclasses.replace(config, evaluation=dataclasses.replace(config.evaluation, limit=3)),
    )
    before = Counter(stages.calls)
    run(db, experiment, stages, tmp_path)
    changed = {label for label in stages.calls if stages.calls[label] != before[label]}
    assert changed and all(label.startswith("eval") for label in changed)


def test_same_blend_content_does_not_retrain(db: Database, experiment: str, tmp_path: Path) -> None:
    stages = Stages()
    run(db, experiment, stages, tmp_path, arms=["first"])
    config = load_experiment(db, experiment)
    # A new blend total whose file comes out the same (the double's content is fixed).
    save(db, dataclasses.replace(config, blend=dataclasses.replace(config.blend, total=99)))
    before = Counter(stages.calls)
    run(db, experiment, stages, tmp_path, arms=["first"])
    rerun = {label for label in stages.calls if stages.calls[label] != before[label]}
    assert rerun == {"blend first"}  # same content: dataset, train and eval are reused
    # --from reruns that stage and every later one, whatever their keys.
    run(db, experiment, stages, tmp_path, arms=["first"], from_stage="train")
    assert stages.calls["train first (sft)"] == 2 and stages.calls["blend first"] == 2
    stages.blend_content = "changed"
    run(db, experiment, stages, tmp_path, arms=["first"], from_stage="blend")
    assert stages.calls["dataset first (sft)"] == 2


def test_failures_are_retried_by_the_next_run_and_until_stops(
    db: Database, experiment: str, tmp_path: Path
) -> None:
    stages = Stages()
    stages.failures["generate"] = 2
    report = run(db, experiment, stages, tmp_path, until="solve")
    assert report.failures == 2 and not report.ok
    assert [o.node.stage for o in report.outcomes] == [
        "generate",
        "dedup",
        "decontaminate",
        "solve",
    ]
    report = run(db, experiment, stages, tmp_path, until="solve")
    assert report.ok and stages.calls["generate"] == 2
