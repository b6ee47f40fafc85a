"""What a training run is asked to do (`TrainSpec`) and what it gave back (`TrainResult`).

The settings are the experiment config's `[training]` table (`TrainingConfig`): one
definition, whether a run comes from `flames train --method ...`, from an experiment's arm,
or from another stage's Python call (QFT). The command line only overrides fields of it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.config.schema import TRAINING_METHODS, TrainingConfig
from pipeline.errors import ConfigError

Trainer = Literal["sft", "dpo"]

# The TRL trainer behind each recipe: RFT is SFT on filtered self-samples, per-step DPO is
# DPO on pairs cut at the first wrong step (SPEC section 5).
TRAINER_OF: dict[str, Trainer] = {"sft": "sft", "rft": "sft", "dpo": "dpo", "step_dpo": "dpo"}

# Files a run keeps in its output folder beside the model and its checkpoints.
PLAN_FILE = "flames-plan.json"  # the launch plan: written before launch, read by the worker
MODEL_FILE = "flames-model.json"  # written last: the run finished; records the base model
LOCK_FILE = ".flames-train.lock"  # held while a process trains into the folder
MERGED_DIR = "merged"  # --merge: LoRA folded into full weights


@dataclass(frozen=True)
class TrainSpec:
    """One training run: a dataset file, a starting model, an output folder and the settings.

    Attributes:
        data: JSONL or Parquet in TRL's formats (`messages`, `prompt`/`completion`, `text`;
            DPO: `prompt`/`chosen`/`rejected`).
        model: the starting model: a folder (full weights or a LoRA adapter we wrote), a Hub
            id, or the embedded default.
        out: the output folder; it ends up holding a loadable model and its checkpoints.
        method: sft | rft | dpo | step_dpo.
        settings: the `[training]` config (LoRA, steps, batch, learning rate, accelerate).
    """

    data: str
    model: str
    out: str
    method: str = "sft"
    settings: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        if self.method not in TRAINING_METHODS:
            raise ConfigError(
                f"unknown training method '{self.method}' (choose from {', '.join(TRAINING_METHODS)})"
            )

    @property
    def trainer(self) -> Trainer:
        """The TRL trainer that runs this recipe."""
        return TRAINER_OF[self.method]

    @property
    def out_dir(self) -> Path:
        return Path(self.out).expanduser().resolve()

    def with_settings(self, **changes: Any) -> TrainSpec:
        """A copy with some `[training]` fields replaced (command-line overrides)."""
        known = {f.name for f in dataclasses.fields(TrainingConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown training setting(s): {', '.join(unknown)}")
        return dataclasses.replace(self, settings=dataclasses.replace(self.settings, **changes))

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run row and the plan file."""
        return {
            "data": self.data,
            "model": self.model,
            "out": self.out,
            "method": self.method,
            "settings": dataclasses.asdict(self.settings),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainSpec:
        settings = dict(data["settings"])
        for key in ("lora_target_modules", "select_benchmarks"):
            settings[key] = tuple(settings.get(key) or ())
        return cls(
            data=data["data"],
            model=data["model"],
            out=data["out"],
            method=data["method"],
            settings=TrainingConfig(**settings),
        )


@dataclass(frozen=True)
class CheckpointScore:
    """A checkpoint's evaluation during checkpoint selection."""

    step: int
    path: str
    scores: dict[str, float]

    @property
    def score(self) -> float:
        """The mean accuracy over the selection benchmarks (the paper's criterion)."""
        return sum(self.scores.values()) / len(self.scores) if self.scores else 0.0


@dataclass(frozen=True)
class TrainResult:
    """What a finished run left: where its model is and how it went.

    `model_dir` is what to load (`flames eval --model`, a model role, the next
    `flames train --model`). `best` is set only when checkpoints were selected; it is the
    best of K on the selection benchmarks, which are usually test sets: report it as such.
    """

    run_id: int | None
    output_dir: str
    model_dir: str
    steps: int
    resumed_from: int | None = None
    already_done: bool = False
    last_checkpoint: str | None = None
    best: CheckpointScore | None = None
    checkpoint_scores: tuple[CheckpointScore, ...] = ()
    merged_dir: str | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
