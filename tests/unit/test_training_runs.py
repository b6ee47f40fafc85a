"""Training runs end to end on a tiny random model: the real worker under `accelerate launch`.

The model is built from a config (no download, a few hundred thousand parameters), so these
test the plumbing (rows, metrics, checkpoints, resume, failure, selection, loading the
output) in seconds per launch; tests/functional/test_training_model.py trains the embedded
model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.config.schema import TrainingConfig
from pipeline.errors import FlamesError
from pipeline.llm.backend import load_backend
from pipeline.llm.models import MODEL_FILE, ModelSource, merge_adapter, resolve_model
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from pipeline.progress import ProgressEvent, Reporter
from pipeline.training import TrainSpec, train
from storage import training as rows
from tests.unit.tiny_model import build_tiny_model

TINY = TrainingConfig(
    max_steps=2,
    batch_size=2,
    max_seq_len=48,
    learning_rate=1e-3,
    gradient_checkpointing=False,
    checkpoints=2,
    warmup_ratio=0.0,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def sft_file(tmp_path: Path) -> Path:
    path = tmp_path / "sft.jsonl"
    rows_ = [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} + {i}?"},
                {"role": "assistant", "content": f"{i} + {i} = {2 * i}. #### {2 * i}"},
            ]
        }
        for i in range(6)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows_), encoding="utf-8")
    return path


def test_a_run_is_recorded_resumed_after_a_failure_and_never_retrained(
    tiny: Path, sft_file: Path, tmp_path: Path, db: Database, db_path: Path
) -> None:
    out = tmp_path / "run"
    seen: list[ProgressEvent] = []
    said: list[str] = []
    evaluated: list[int] = []

    def evaluator(
        model: str, benchmarks: Sequence[str], limit: int | None, step: int, progress: Reporter
    ) -> dict[str, float]:
        evaluated.append(step)
        assert (Path(model) / "adapter_config.json").is_file() and benchmarks == ["bench"]
        return {"bench": 0.5 if step == 1 else 0.25}

    settings = TINY.__class__(**{**TINY.__dict__, "select_benchmarks": ("bench",)})
    spec = TrainSpec(data=str(sft_file), model=str(tiny), out=str(out), settings=settings)
    result = train(
        spec, progress=seen.append, db_path=str(db_path), evaluator=evaluator, say=said.append
    )

    # Recorded: a done row, one loss per step, K checkpoints, the best of them chosen.
    assert result.steps == 2 and result.run_id is not None and not result.already_done
    run = rows.get_run(db, result.run_id)
    assert run is not None and run.status == "done" and run.dataset_rows == 6
    assert [step for step, _ in rows.metric_series(db, run.id, "loss")] == [1, 2]
    assert {"learning_rate", "grad_norm", "tokens_per_s"} <= set(rows.metric_names(db, run.id))
    assert [c.step for c in rows.list_checkpoints(db, run.id)] == [1, 2]
    assert evaluated == [1, 2] and result.best is not None and result.best.step == 1
    assert run.best_step == 1 and run.selection_on_eval == 1
    assert [
        (e.done, e.total) for e in seen if e.stage == "train" and e.detail.startswith("loss")
    ] == [
        (1, 2),
        (2, 2),
    ]
    # The output folder is a model: a LoRA adapter whose base is recorded.
    record = json.loads((out / MODEL_FILE).read_text())
    assert record["format"] == "lora" and record["base_model"] == str(tiny)
    backend = load_backend(ModelSpec(model=str(out), max_batch_size=1))
    try:
        asked = Request(messages=(("user", "1 + 1?"),), params=SamplingParams(max_new_tokens=3))
        answers = dict(backend.generate([asked]))
        assert answers[0].completion_tokens == 3  # type: ignore[union-attr]
        assert backend.model_id == f"{out}@{record['stamp']}"
    finally:
        backend.close()

    # --merge's folder: full weights that the folder then resolves to.
    merged = merge_adapter(out)
    assert (merged / "config.json").is_file() and merge_adapter(out) == merged
    assert resolve_model(str(out)) == ModelSource(str(merged))

    # The same command again: nothing retrained, the recorded selection reused.
    again = train(spec, db_path=str(db_path), evaluator=evaluator, say=said.append)
    assert again.already_done and again.best is not None and again.best.step == 1
    assert evaluated == [1, 2] and "not retrained" in said[-1]

    # An unfinished folder (its model file gone) whose next launch fails: the row is failed
    # with the one-line error and the checkpoints stay; the same command then resumes.
    (out / MODEL_FILE).unlink()
    longer = spec.with_settings(max_steps=3, lr_scheduler="no-such-schedule", select_benchmarks=())
    with pytest.raises(FlamesError) as caught:
        train(longer, db_path=str(db_path), say=said.append)
    assert "no-such-schedule" in str(caught.value) and "\n" not in str(caught.value)
    failed = rows.get_run(db, run.id)
    assert failed is not None and failed.status == "failed" and failed.error == str(caught.value)
    assert (out / "checkpoint-2" / "trainer_state.json").is_file()
    resumed = train(
        longer.with_settings(lr_scheduler="linear"), db_path=str(db_path), say=said.append
    )
    assert resumed.resumed_from == 2 and resumed.steps == 3
    assert "resumed from step 2 (checkpoint-2)" in said
    assert [step for step, _ in rows.metric_series(db, run.id, "loss")] == [1, 2, 3]
    done = rows.get_run(db, run.id)
    assert done is not None and done.status == "done" and done.error is None
    assert resolve_model(str(out)).adapter == str(out)  # the merge of the old adapter is stale


def test_wrong_inputs_fail_in_one_line_before_anything_launches(
    tiny: Path, sft_file: Path, tmp_path: Path
) -> None:
    base = TrainSpec(data=str(sft_file), model=str(tiny), out=str(tmp_path / "o"), settings=TINY)
    for changes, expected in (
        ({"accelerate_config": "deepspeed-zero3"}, "deepspeed"),
        ({"accelerate_config": "fsdp"}, "none is visible here"),
        ({"precision": "bf16"}, "needs a CUDA GPU"),
    ):
        with pytest.raises(FlamesError, match=expected) as caught:
            train(base.with_settings(**changes))
        assert "\n" not in str(caught.value)
    with pytest.raises(FlamesError, match="DPO needs prompt"):
        train(TrainSpec(data=str(sft_file), model=str(tiny), out=str(tmp_path / "d"), method="dpo"))
    with pytest.raises(FlamesError, match="does not exist"):
        train(TrainSpec(data=str(sft_file), model="./no/such/model", out=str(tmp_path / "m")))
    assert not (tmp_path / "o" / "flames-plan.json").exists()
