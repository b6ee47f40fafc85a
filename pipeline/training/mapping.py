"""Our `[training]` settings -> TRL's `SFTConfig`/`DPOConfig` and peft's `LoraConfig` arguments.

Pure functions of the spec and the machine (GPU count, precision): no torch, no model, so
the mapping is tested on its own. Where a TRL default does not suit us, the reason is here.
"""

from __future__ import annotations

from typing import Any

from pipeline.config.schema import TrainingConfig
from pipeline.training.launch import Precision
from pipeline.training.spec import TrainSpec

# "all-linear" is peft's shorthand for every linear layer but the output head.
ALL_LINEAR = "all-linear"


def trainer_kwargs(spec: TrainSpec, *, precision: Precision, gpus: int) -> dict[str, Any]:
    """Keyword arguments for `SFTConfig` (sft, rft) or `DPOConfig` (dpo, step_dpo)."""
    settings = spec.settings
    kwargs: dict[str, Any] = {
        "output_dir": str(spec.out_dir),
        "num_train_epochs": float(settings.epochs),
        "max_steps": settings.max_steps if settings.max_steps is not None else -1,
        "per_device_train_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation,
        "learning_rate": float(settings.learning_rate),
        "lr_scheduler_type": settings.lr_scheduler,
        # transformers 5 reads a float in [0, 1) as a share of the total steps.
        "warmup_steps": float(settings.warmup_ratio),
        "max_length": settings.max_seq_len,
        # transformers 5 renamed gradient_checkpointing (still TRL's default, True).
        "activation_checkpointing": settings.gradient_checkpointing,
        "seed": settings.seed,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": gpus == 0,
        "logging_steps": settings.logging_steps,
        "logging_first_step": True,
        # Our callback streams every log to the database; no tqdm bars in a job's log file,
        # no experiment trackers unless the user's accelerate setup adds them.
        "report_to": "none",
        "disable_tqdm": True,
        # Checkpoints keep optimizer and scheduler state: a killed run resumes exactly.
        "save_only_model": False,
        "dataloader_num_workers": 0,
    }
    kwargs.update(save_kwargs(settings))
    if spec.trainer == "dpo":
        kwargs["beta"] = float(settings.beta)
    return kwargs


def save_kwargs(settings: TrainingConfig) -> dict[str, Any]:
    """Checkpointing: every `save_steps` if given, else K checkpoints placed by our callback.

    An interval cannot place K checkpoints with the last on the final step for every run
    length, so by default TRL saves nothing itself and `checkpoint_steps` decides.
    """
    if settings.save_steps is not None:
        return {"save_strategy": "steps", "save_steps": settings.save_steps}
    return {"save_strategy": "no"}


def checkpoint_steps(total_steps: int, checkpoints: int) -> list[int]:
    """K optimizer steps spread evenly over a run, the last one on the final step."""
    if total_steps < 1 or checkpoints < 1:
        return []
    wanted = min(checkpoints, total_steps)
    return sorted({round(total_steps * (i + 1) / wanted) for i in range(wanted)})


def lora_kwargs(settings: TrainingConfig) -> dict[str, Any] | None:
    """Keyword arguments for peft's `LoraConfig`, or None for full fine-tuning."""
    if not settings.lora:
        return None
    modules = list(settings.lora_target_modules)
    return {
        "r": settings.lora_r,
        "lora_alpha": settings.lora_alpha,
        "lora_dropout": float(settings.lora_dropout),
        "target_modules": ALL_LINEAR if modules == [ALL_LINEAR] else modules,
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


def load_dtype(precision: Precision, *, lora: bool) -> str:
    """The dtype the starting model is loaded in.

    bf16: the weights in bf16 (what TRL does by default; LoRA adapters stay fp32 in peft).
    fp16: full fine-tuning keeps fp32 master weights (the grad scaler refuses fp16 ones).
    """
    if precision == "bf16":
        return "bfloat16"
    if precision == "fp16" and lora:
        return "float16"
    return "float32"
