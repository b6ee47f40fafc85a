"""The training script `accelerate launch` runs: TRL's SFTTrainer or DPOTrainer on a plan.

`python -m accelerate.commands.launch ... -m pipeline.training.worker PLAN.json`. The plan
(written by `pipeline.training.run`) holds the spec, the TRL and peft arguments already
mapped, the checkpoint to resume from and where to record metrics. The worker builds the
model (LoRA or full; from a plain model or from an adapter folder we wrote before), trains,
saves the final model into the output folder and writes `flames-model.json` last.

The DPO reference is the starting model with no second copy where LoRA allows it: a new
adapter is disabled for the reference (TRL's default with a peft model), and an adapter
continued from an SFT run gets a frozen copy of itself as the reference ("ref" adapter).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import uuid
import warnings
from pathlib import Path
from typing import Any

from pipeline.errors import FlamesError, first_line
from pipeline.llm.models import MODEL_FILE, ModelSource, load_causal_lm, resolve_model
from pipeline.training import events
from pipeline.training.spec import TrainSpec

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see pipeline/llm/transformers_backend.py


def main(argv: list[str] | None = None) -> int:
    """Run the plan named on the command line; one `error` event and exit 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipeline.training.worker PLAN.json", file=sys.stderr)
        return 2
    plan: dict[str, Any] = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    spec = TrainSpec.from_json(plan["spec"])
    from pipeline.training.callbacks import OwnerWatchdog

    OwnerWatchdog(plan.get("owner_pid")).start()
    if _main_process():
        from pipeline.training.folder import hold_worker_lock

        _held = hold_worker_lock(spec.out_dir)  # noqa: F841 - released when the process exits
    try:
        train_plan(plan, spec)
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one line for the user
        if isinstance(exc, KeyboardInterrupt | SystemExit) and not _main_process():
            raise
        traceback.print_exc(file=sys.stderr)
        if _main_process():
            events.emit("error", message=describe_failure(exc, spec))
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def train_plan(plan: dict[str, Any], spec: TrainSpec) -> None:
    """Build the trainer, train (resuming if the plan says so), save the model."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_warning()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # our events count steps
    # Renames announced inside transformers/TRL themselves: noise in every job log.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl)\.")
    import datasets

    datasets.disable_progress_bars()
    from pipeline.training.callbacks import RunRecorder, SaveAtSteps

    # The TRL arguments first: a bad setting fails before seconds go into loading the model.
    if spec.trainer == "sft":
        from trl.trainer.sft_config import SFTConfig
        from trl.trainer.sft_trainer import SFTTrainer

        args: Any = SFTConfig(**plan["trainer_kwargs"])
    else:
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        args = DPOConfig(**plan["trainer_kwargs"])
    dtype = getattr(torch, plan["dtype"])
    source = resolve_model(spec.model)
    record = model_record(spec, source, plan)
    model, tokenizer, peft_config, ref_model = build_models(spec, source, dtype, plan["lora"])
    dataset = load_dataset(spec)
    callbacks: list[Any] = [
        RunRecorder(db_path=plan.get("db_path"), run_id=plan.get("run_id"), record=record)
    ]
    if spec.settings.save_steps is None:
        callbacks.append(SaveAtSteps(spec.settings.checkpoints))
    if spec.trainer == "sft":
        trainer: Any = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    else:
        trainer = DPOTrainer(
            model=model,
            ref_model=ref_model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # RunRecorder reports each step instead
    trainer.train(resume_from_checkpoint=plan.get("resume_from"))
    out = spec.out_dir
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(out))
        record["steps"] = int(trainer.state.global_step)
        record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_atomic(out / MODEL_FILE, json.dumps(record, indent=2))
        events.emit("done", step=int(trainer.state.global_step))


def model_record(spec: TrainSpec, source: ModelSource, plan: dict[str, Any]) -> dict[str, Any]:
    """What `flames-model.json` says about the output: its format and the base to load it on."""
    lora = plan["lora"] is not None or (source.adapter is not None and spec.settings.lora)
    if source.adapter is not None:  # continued from one of our adapter folders: same base
        from pipeline.llm.models import adapter_base

        base = adapter_base(source.adapter)
    else:
        base = spec.model
    return {
        "format": "lora" if lora else "full",
        "base_model": base if lora else spec.model,
        "start_model": spec.model,
        "method": spec.method,
        "trainer": spec.trainer,
        "dataset_sha256": plan.get("dataset_sha256"),
        "stamp": uuid.uuid4().hex[:12],
    }


def build_models(
    spec: TrainSpec, source: ModelSource, dtype: Any, lora: dict[str, Any] | None
) -> tuple[Any, Any, Any, Any]:
    """(model, tokenizer, peft_config, ref_model) for the trainer.

    From an adapter folder: LoRA continues that adapter (so the output stays an adapter on
    the same base); full fine-tuning merges it first and, for DPO, gives TRL a second merged
    copy as the reference (TRL would otherwise rebuild the reference from the base's path).
    """
    peft_config = None
    ref_model = None
    if source.adapter is not None and spec.settings.lora:
        model, tokenizer = load_causal_lm(source, dtype=dtype, trainable=True)
    else:
        model, tokenizer = load_causal_lm(source, dtype=dtype)
        if lora is not None:
            from peft import LoraConfig

            peft_config = LoraConfig(**lora)
        elif source.adapter is not None and spec.trainer == "dpo":
            ref_model, _ = load_causal_lm(source, dtype=dtype)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, peft_config, ref_model


def load_dataset(spec: TrainSpec) -> Any:
    """The data file as a `datasets.Dataset`, in the layout TRL expects.

    A `messages` chat becomes a conversational prompt/completion (the turns before the last
    answer, and that answer), so the SFT loss falls on the answer only, the usual SFT
    target; TRL would otherwise train on the prompt tokens too.
    """
    from datasets import Dataset

    path = Path(spec.data).expanduser()
    if path.suffix.lower() == ".parquet":
        dataset = Dataset.from_parquet(str(path))
    else:
        from pipeline.jsonl import read_jsonl

        dataset = Dataset.from_list(read_jsonl(path))
    if spec.trainer == "sft" and "messages" in dataset.column_names:
        dataset = dataset.map(
            lambda row: {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]},
            remove_columns=dataset.column_names,
        )
    return dataset


def describe_failure(exc: BaseException, spec: TrainSpec) -> str:
    """One line a user can act on; out of memory names the settings to lower."""
    if isinstance(exc, FlamesError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; run the same command again to resume from the newest checkpoint"
    text = str(exc).strip()
    first = first_line(exc)
    lowered = text.lower()
    if (
        type(exc).__name__ == "OutOfMemoryError"
        or "out of memory" in lowered
        or ("can't allocate memory" in lowered)
    ):
        s = spec.settings
        hints = [
            f"lower --batch-size (now {s.batch_size}) or --max-seq-len (now {s.max_seq_len})",
            "raise --gradient-accumulation to keep the effective batch",
        ]
        if not s.gradient_checkpointing:
            hints.append("turn gradient_checkpointing on")
        if not s.lora:
            hints.append("or train LoRA adapters (--lora)")
        return f"out of memory: {'; '.join(hints)} ({first[:120]})"
    return f"training failed: {type(exc).__name__}: {first[:300]}"


def _main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


if __name__ == "__main__":
    sys.exit(main())
