"""QFT with the real training machinery: a tiny random model is fine-tuned on the seed
questions through `pipeline.training` (accelerate launch, TRL SFT), cached, and sampled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config.schema import TrainingConfig
from pipeline.generation.generate import generate
from pipeline.generation.qft import QftJob, train_spec, training_rows
from pipeline.llm.spec import ModelSpec
from tests.unit.strategy_doubles import SEEDS, workspace
from tests.unit.tiny_model import build_tiny_model


def test_the_training_data_is_questions_behind_the_sample_prompt(tmp_path: Path) -> None:
    job = QftJob(
        ModelSpec(model="base/model"),
        ("What is 2 + 2?", "How many legs do 3 ducks have?"),
        "Write a new math problem.",
        {"epochs": 2.0, "learning_rate": 5e-6, "lora": True},
        tmp_path,
    )
    assert training_rows(job)[1] == {
        "messages": [
            {"role": "user", "content": "Write a new math problem."},
            {"role": "assistant", "content": "How many legs do 3 ducks have?"},
        ]
    }
    student = TrainingConfig(method="dpo", epochs=5.0, batch_size=4, accelerate_config="fsdp")
    spec = train_spec(job, student)
    assert (spec.model, spec.method, spec.out) == ("base/model", "sft", str(tmp_path / "model"))
    s = spec.settings
    assert (s.epochs, s.learning_rate, s.lora, s.merge, s.select_benchmarks) == (
        2.0,
        5e-6,
        True,
        True,
        (),
    )
    assert (s.batch_size, s.accelerate_config) == (4, "fsdp")  # the student's machinery


@pytest.mark.timeout(600)
def test_qft_fine_tunes_a_real_model_once_and_samples_from_it(tmp_path: Path) -> None:
    tiny = build_tiny_model(tmp_path / "tiny")
    training = (
        "[training]\nmax_steps = 2\nbatch_size = 2\nmax_seq_len = 48\nlearning_rate = 1e-3\n"
        "gradient_checkpointing = false\ncheckpoints = 1\nwarmup_ratio = 0.0\n"
        f'[models.teacher]\nbackend = "transformers"\nmodel = "{tiny}"\n'
    )
    db, exp = workspace(
        tmp_path, {"qft": {"budget": 2, "params": {"accept_untagged": True}}}, extra_toml=training
    )
    [report] = generate(db, exp)
    assert report.requested == 2 and report.failed == 0
    folder = next((tmp_path / "flames-models").glob("qft-*"))
    marker = json.loads((folder / "flames-qft.json").read_text())
    assert marker["base_model"] == str(tiny) and marker["questions"] == len(SEEDS)
    assert Path(marker["model"]).is_dir()
    lines = (folder / "questions.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["messages"][1]["content"] for x in lines) == sorted(
        s["question"] for s in SEEDS
    )
    models = {r[0] for r in db.execute("SELECT model FROM problems").fetchall()}
    assert len(models) == 1 and models.pop().startswith(marker["model"])  # the fine-tuned one
    runs = db.execute("SELECT COUNT(*) FROM training_runs").fetchone()[0]
    assert runs == 1  # recorded like the student's runs
    generate(db, exp, reparse=True)
    assert db.execute("SELECT COUNT(*) FROM training_runs").fetchone()[0] == 1  # cached
