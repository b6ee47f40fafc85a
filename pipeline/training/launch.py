"""`accelerate launch`: the shipped configs, the machine they need, and the command line.

One GPU, several GPUs, DeepSpeed ZeRO-3 and FSDP are a choice of accelerate config file;
the worker (`pipeline.training.worker`) is the same TRL script under all of them.
`launch_argv` is a pure function of the config, the machine and the precision, so the
mapping is tested without a model or a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError, FlamesError

CONFIG_DIR = Path(__file__).resolve().parent / "accelerate"
DEFAULT_CONFIG = "single"
WORKER_MODULE = "pipeline.training.worker"
GPU_TYPES = ("MULTI_GPU", "DEEPSPEED", "FSDP")

Precision = Literal["bf16", "fp16", "fp32"]


def shipped_configs() -> list[str]:
    """The accelerate configs shipped with the package, by name."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class AccelerateConfig:
    """An accelerate config file and the few keys flames reads from it."""

    name: str
    path: Path
    distributed_type: str
    num_processes: int | None  # None: one per visible GPU (or 1 for a single process)

    @property
    def needs_gpu(self) -> bool:
        return self.distributed_type in GPU_TYPES


def resolve_config(name_or_path: str | None) -> AccelerateConfig:
    """A shipped config by name (`single`, `multi-gpu`, `deepspeed-zero3`, `fsdp`) or a YAML file."""
    chosen = name_or_path or DEFAULT_CONFIG
    path = CONFIG_DIR / f"{chosen}.yaml"
    if not path.is_file():
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"accelerate config '{chosen}' not found: give a YAML file or one of the "
                f"shipped configs ({', '.join(shipped_configs())})"
            )
    return parse_config(path, name=chosen)


def parse_config(path: Path, *, name: str) -> AccelerateConfig:
    """Read the keys that decide where the run goes (the rest is accelerate's business)."""
    import yaml

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"accelerate config {path}: cannot read it as YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"accelerate config {path}: expected a YAML mapping of settings")
    kind = str(data.get("distributed_type", "NO")).upper()
    processes = data.get("num_processes")
    if processes is not None and (not isinstance(processes, int) or processes < 1):
        raise ConfigError(f"accelerate config {path}: num_processes must be a positive integer")
    return AccelerateConfig(name, path.resolve(), kind, processes)


def visible_gpus() -> int:
    """CUDA GPUs this process may use, counted without importing torch (it costs seconds).

    $CUDA_VISIBLE_DEVICES wins; else the NVIDIA driver's /proc entries; else `nvidia-smi -L`.
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [part.strip() for part in listed.split(",") if part.strip()]
        return 0 if not ids or ids[0] == "-1" else len(ids)
    proc = Path("/proc/driver/nvidia/gpus")
    if proc.is_dir():
        return sum(1 for _ in proc.iterdir())
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listing = subprocess.run(  # noqa: S603 - a fixed, trusted binary
            [smi, "-L"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))


def cpu_threads() -> int:
    """Threads a CPU run may use: what torch would take on its own in a plain script."""
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_precision(precision: str, gpus: int) -> Precision:
    """auto: bf16 on a GPU, fp32 on the CPU (bf16 matmuls are ~50x slower on these CPUs)."""
    if precision == "auto":
        return "bf16" if gpus else "fp32"
    if precision in ("bf16", "fp16") and not gpus:
        raise FlamesError(
            f"precision {precision} needs a CUDA GPU and none is visible; "
            'use precision = "auto" or "fp32" on the CPU'
        )
    if precision not in ("bf16", "fp16", "fp32"):
        raise ConfigError(f"unknown precision '{precision}': use auto, bf16, fp16 or fp32")
    return precision  # type: ignore[return-value]  # checked just above


def processes_for(config: AccelerateConfig, gpus: int) -> int:
    """How many training processes: the config's number, else one per GPU (1 on the CPU)."""
    if config.needs_gpu and not gpus:
        raise FlamesError(
            f"accelerate config '{config.name}' ({config.distributed_type}) runs on CUDA GPUs "
            "and none is visible here; use --accelerate-config single on this machine"
        )
    wanted = config.num_processes or (gpus if config.needs_gpu else 1)
    if config.needs_gpu and wanted > gpus:
        raise FlamesError(
            f"accelerate config '{config.name}' asks for {wanted} processes but only "
            f"{gpus} GPU(s) are visible; lower num_processes in {config.path}"
        )
    return wanted


def check_backend_installed(config: AccelerateConfig) -> None:
    """DeepSpeed configs need the deepspeed package; say so before launching anything."""
    if config.distributed_type == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
        raise FlamesError(
            f"accelerate config '{config.name}' needs the deepspeed package: "
            "pip install deepspeed (on the GPU machine)"
        )


def launch_argv(
    config: AccelerateConfig,
    *,
    gpus: int,
    precision: Precision,
    plan_path: str,
    threads: int,
    python: str = sys.executable,
) -> list[str]:
    """The `accelerate launch` command that runs the worker on `plan_path`.

    On the CPU it adds `--cpu` and pins the thread count accelerate would otherwise lower
    (it sets OMP_NUM_THREADS to the physical cores per process, sometimes 1).
    """
    processes = processes_for(config, gpus)
    mixed = {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}[precision]
    argv = [
        python,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config.path),
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        mixed,
        "--dynamo_backend",
        "no",
    ]
    if not gpus:
        argv += ["--cpu", "--num_cpu_threads_per_process", str(max(1, threads // processes))]
    return [*argv, "-m", WORKER_MODULE, plan_path]
