"""Our [training] config -> TRL configs, peft LoraConfig and `accelerate launch` argv (no model)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.config.schema import TrainingConfig
from pipeline.errors import ConfigError, FlamesError
from pipeline.training import launch
from pipeline.training.mapping import checkpoint_steps, load_dtype, lora_kwargs, trainer_kwargs
from pipeline.training.spec import TrainSpec


def spec(method: str = "sft", **settings: object) -> TrainSpec:
    return TrainSpec(
        data="d.jsonl",
        model="m",
        out="/tmp/out-run",
        method=method,
        settings=dataclasses.replace(TrainingConfig(), **settings),  # type: ignore[arg-type]
    )


def test_cpu_sft_maps_to_fp32_with_our_settings() -> None:
    kwargs = trainer_kwargs(
        spec(max_steps=10, batch_size=4, learning_rate=2e-4, max_seq_len=256),
        precision="fp32",
        gpus=0,
    )
    assert kwargs["bf16"] is False and kwargs["fp16"] is False and kwargs["use_cpu"] is True
    assert kwargs["max_steps"] == 10 and kwargs["per_device_train_batch_size"] == 4
    assert kwargs["learning_rate"] == 2e-4 and kwargs["max_length"] == 256
    assert kwargs["logging_steps"] == 1 and kwargs["report_to"] == "none"
    assert kwargs["save_strategy"] == "no"  # K checkpoints are placed by our callback
    assert "beta" not in kwargs


def test_gpu_dpo_maps_to_bf16_with_beta_and_interval_saves() -> None:
    kwargs = trainer_kwargs(spec("step_dpo", beta=0.3, save_steps=50), precision="bf16", gpus=1)
    assert kwargs["bf16"] is True and kwargs["use_cpu"] is False
    assert kwargs["beta"] == 0.3
    assert kwargs["save_strategy"] == "steps" and kwargs["save_steps"] == 50
    assert kwargs["max_steps"] == -1 and kwargs["num_train_epochs"] == 3.0


def test_mapped_arguments_are_accepted_by_trl_itself() -> None:
    """The kwargs build real TRL configs: a renamed field fails here, not in a job."""
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.sft_config import SFTConfig

    sft = SFTConfig(**trainer_kwargs(spec(max_steps=3), precision="fp32", gpus=0))
    assert sft.max_steps == 3 and not sft.bf16 and sft.max_length == 2048
    assert sft.gradient_checkpointing is True  # our default, under its transformers 5 name
    dpo = DPOConfig(**trainer_kwargs(spec("dpo", beta=0.2), precision="fp32", gpus=0))
    assert dpo.beta == 0.2 and dpo.warmup_steps == pytest.approx(0.03)


def test_k_checkpoints_are_spread_evenly_ending_on_the_last_step() -> None:
    assert checkpoint_steps(10, 3) == [3, 7, 10]
    assert checkpoint_steps(4, 2) == [2, 4]
    assert checkpoint_steps(2, 5) == [1, 2]
    assert checkpoint_steps(0, 3) == []


def test_lora_targets_and_full_fine_tuning() -> None:
    default = lora_kwargs(TrainingConfig())
    assert default is not None and default["target_modules"] == "all-linear"
    named = lora_kwargs(TrainingConfig(lora_r=8, lora_target_modules=("q_proj", "v_proj")))
    assert named is not None and named["r"] == 8 and named["target_modules"] == ["q_proj", "v_proj"]
    assert lora_kwargs(TrainingConfig(lora=False)) is None
    from peft import LoraConfig

    assert LoraConfig(**named).r == 8
    assert load_dtype("bf16", lora=True) == "bfloat16"
    assert load_dtype("fp16", lora=False) == "float32"


def test_cpu_launch_argv_runs_the_worker_in_fp32_with_every_thread() -> None:
    config = launch.resolve_config("single")
    argv = launch.launch_argv(config, gpus=0, precision="fp32", plan_path="p.json", threads=2)
    assert argv[1:3] == ["-m", "accelerate.commands.launch"]
    assert argv[-3:] == ["-m", "pipeline.training.worker", "p.json"]
    assert "--cpu" in argv and argv[argv.index("--mixed_precision") + 1] == "no"
    assert argv[argv.index("--num_cpu_threads_per_process") + 1] == "2"
    assert argv[argv.index("--num_processes") + 1] == "1"
    from accelerate.commands.launch import launch_command_parser

    parsed = launch_command_parser().parse_args(argv[3:])  # accelerate accepts every flag
    assert parsed.cpu and parsed.module and parsed.training_script == "pipeline.training.worker"


def test_gpu_launch_argv_uses_bf16_and_one_process_per_gpu() -> None:
    multi = launch.resolve_config("multi-gpu")
    argv = launch.launch_argv(multi, gpus=4, precision="bf16", plan_path="p.json", threads=16)
    assert "--cpu" not in argv
    assert argv[argv.index("--mixed_precision") + 1] == "bf16"
    assert argv[argv.index("--num_processes") + 1] == "4"
    assert launch.resolve_precision("auto", 4) == "bf16"
    assert launch.resolve_precision("auto", 0) == "fp32"


def test_shipped_configs_parse_and_a_missing_one_lists_them(tmp_path: Path) -> None:
    assert launch.shipped_configs() == ["deepspeed-zero3", "fsdp", "multi-gpu", "single"]
    kinds = {
        name: launch.resolve_config(name).distributed_type for name in launch.shipped_configs()
    }
    assert kinds == {
        "deepspeed-zero3": "DEEPSPEED",
        "fsdp": "FSDP",
        "multi-gpu": "MULTI_GPU",
        "single": "NO",
    }
    with pytest.raises(ConfigError, match=r"not found.*single"):
        launch.resolve_config("zero9")
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: MULTI_GPU\nnum_processes: 8\n")
    mine = launch.resolve_config(str(own))
    assert mine.needs_gpu and mine.num_processes == 8
    with pytest.raises(FlamesError, match="asks for 8 processes but only 2 GPU"):
        launch.processes_for(mine, 2)


@pytest.mark.parametrize("name", ["multi-gpu", "deepspeed-zero3", "fsdp"])
def test_gpu_only_configs_fail_in_one_line_without_a_gpu(name: str) -> None:
    with pytest.raises(FlamesError) as caught:
        launch.processes_for(launch.resolve_config(name), 0)
    message = str(caught.value)
    assert "\n" not in message and "no" in message and "--accelerate-config single" in message


def test_bf16_on_the_cpu_fails_in_one_line() -> None:
    with pytest.raises(FlamesError, match="needs a CUDA GPU"):
        launch.resolve_precision("bf16", 0)


def test_this_machine_has_no_gpu_visible_the_way_we_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert launch.visible_gpus() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert launch.visible_gpus() == 0
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    import torch

    assert launch.visible_gpus() == torch.cuda.device_count()
