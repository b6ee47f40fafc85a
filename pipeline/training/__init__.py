"""Training the student: TRL SFT/DPO (LoRA or full) launched through `accelerate launch`.

API for other stages (QFT, the flow):
    TrainSpec(data, model, out, method="sft", settings=TrainingConfig(...))
    train(spec, progress=..., db_path=...) -> TrainResult   (resumes; a finished folder is kept)
TrainResult.model_dir loads anywhere a model is accepted (pipeline.llm.models resolves it).
"""

from pipeline.training.run import train
from pipeline.training.spec import CheckpointScore, TrainResult, TrainSpec

__all__ = ["CheckpointScore", "TrainResult", "TrainSpec", "train"]
