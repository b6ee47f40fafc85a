"""Training the embedded SmolLM2-135M on CPU (fp32, LoRA, short sequences): SFT, then DPO from
the SFT output, the output loading as a model, and a run killed with SIGKILL after a checkpoint
resuming from it. A few steps each: the losses-falling evidence over 10 (SFT) and 6 (DPO) steps
is tests/benchmarks/bench_train.py's.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.config.schema import TrainingConfig
from pipeline.llm.backend import load_backend
from pipeline.llm.models import MODEL_FILE
from pipeline.llm.request import Request
from pipeline.llm.spec import EMBEDDED_MODEL, ModelSpec, SamplingParams
from pipeline.training import TrainResult, TrainSpec, train
from storage import training as rows
from storage.database import open_db

pytestmark = pytest.mark.model

SMALL = TrainingConfig(
    batch_size=2,
    max_seq_len=96,
    learning_rate=2e-4,
    gradient_checkpointing=False,
    warmup_ratio=0.0,
    lora_r=8,
    lora_alpha=16,
    checkpoints=1,
)
PROBLEMS = [
    (f"Tom has {a} apples and buys {b} more. How many apples now?", a + b)
    for a, b in ((3, 4), (5, 2), (7, 8), (10, 6), (2, 9), (4, 4), (12, 3), (8, 1))
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("training")


@pytest.fixture(scope="module")
def sft_file(workdir: Path) -> Path:
    return write_jsonl(
        workdir / "sft.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": f"He has {answer} apples. #### {answer}"},
                ]
            }
            for question, answer in PROBLEMS
        ],
    )


@pytest.fixture(scope="module")
def sft_run(workdir: Path, sft_file: Path) -> tuple[TrainResult, Path]:
    db_path = workdir / "flames.db"
    spec = TrainSpec(
        data=str(sft_file),
        model=EMBEDDED_MODEL,
        out=str(workdir / "sft"),
        settings=SMALL.__class__(**{**SMALL.__dict__, "max_steps": 3}),
    )
    return train(spec, db_path=str(db_path)), db_path


def test_sft_logs_a_loss_per_step_and_its_output_loads_as_a_model(
    sft_run: tuple[TrainResult, Path],
) -> None:
    result, db_path = sft_run
    db = open_db(db_path)
    assert result.run_id is not None and result.steps == 3
    losses = rows.metric_series(db, result.run_id, "loss")
    assert [step for step, _ in losses] == [1, 2, 3]
    assert all(math.isfinite(loss) and 0 < loss < 10 for _, loss in losses)
    record = json.loads((Path(result.model_dir) / MODEL_FILE).read_text())
    assert record["format"] == "lora" and record["base_model"] == EMBEDDED_MODEL
    backend = load_backend(ModelSpec(model=result.model_dir, max_batch_size=1))
    try:
        answers = dict(
            backend.generate(
                [
                    Request(
                        messages=(("user", PROBLEMS[0][0]),),
                        params=SamplingParams(temperature=0.0, max_new_tokens=6),
                    )
                ]
            )
        )
        assert answers[0].text.strip()  # type: ignore[union-attr]
    finally:
        backend.close()


def test_dpo_from_the_sft_adapter_starts_at_its_reference_and_logs_margins(
    sft_run: tuple[TrainResult, Path], workdir: Path
) -> None:
    sft, db_path = sft_run
    pairs = write_jsonl(
        workdir / "pairs.jsonl",
        [
            {"prompt": q, "chosen": f"He has {a} apples. #### {a}", "rejected": f"#### {a + 1}"}
            for q, a in PROBLEMS[:4]
        ],
    )
    spec = TrainSpec(
        data=str(pairs),
        model=sft.model_dir,
        out=str(workdir / "dpo"),
        method="dpo",
        settings=SMALL.__class__(**{**SMALL.__dict__, "max_steps": 2, "learning_rate": 5e-5}),
    )
    result = train(spec, db_path=str(db_path))
    db = open_db(db_path)
    assert result.run_id is not None
    losses = rows.metric_series(db, result.run_id, "loss")
    # The reference is the SFT student itself (a frozen copy of its adapter), so the first
    # step's policy equals it and the DPO loss is exactly ln 2.
    assert losses[0][0] == 1 and losses[0][1] == pytest.approx(math.log(2), abs=1e-3)
    assert [s for s, _ in rows.metric_series(db, result.run_id, "rewards/margins")] == [1, 2]
    assert rows.metric_series(db, result.run_id, "rewards/accuracies")
    record = json.loads((Path(result.model_dir) / MODEL_FILE).read_text())
    assert record["format"] == "lora" and record["base_model"] == EMBEDDED_MODEL
    assert record["start_model"] == sft.model_dir


def test_sigkill_after_a_checkpoint_then_the_same_command_resumes(
    workdir: Path, sft_file: Path
) -> None:
    out = workdir / "killed"
    db_path = workdir / "kill.db"
    command = [
        sys.executable, "-m", "workbench.cli", "train", "--method", "sft",
        "--data", str(sft_file), "--out", str(out), "--max-steps", "4", "--save-steps", "1",
        "--batch-size", "2", "--max-seq-len", "96", "--learning-rate", "2e-4",
        "--no-gradient-checkpointing", "--db", str(db_path),
    ]  # fmt: skip
    first = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not (out / "checkpoint-1" / "trainer_state.json").is_file():
        assert first.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not (out / MODEL_FILE).exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from step" in again.stderr
    resumed = int(again.stderr.split("resumed from step ")[1].split()[0])
    assert resumed >= 1
    db = Database(str(db_path))
    run = rows.run_for_output(db, str(out.resolve()))
    assert run is not None and run.status == "done" and run.last_step == 4
    assert [s for s, _ in rows.metric_series(db, run.id, "loss")] == [1, 2, 3, 4]
    assert (out / MODEL_FILE).is_file()
