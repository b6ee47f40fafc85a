"""QFT's training stage: a problem-solving model fine-tuned on seed questions only.

Question Fine-Tuning (ScaleQuest, Ding et al. 2024) teaches a solver to write questions by
a short SFT on questions alone; questions are then sampled from it with a minimal prompt.
The fine-tuned model is cached per (base model, seed questions, prompt, params) in the
workspace's `<name>-models/` folder: a marker file written last says the model is complete,
so an interrupted training reruns and a finished one is reused by every later run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.config import ExperimentConfig
from pipeline.config.schema import TrainingConfig
from pipeline.errors import ConfigError
from pipeline.generation.runner import Slot, initial_variables
from pipeline.jsonl import write_jsonl
from pipeline.llm.spec import ModelSpec
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.seeds.sampling import Seed, draw_stream
from pipeline.strategies import Strategy
from pipeline.strategies.prompts import current_templates
from pipeline.strategies.template import render
from pipeline.training import TrainSpec

MARKER = "flames-qft.json"  # written last: the cached model is complete
SAMPLE_STAGE = "sample"
TRAINING_PARAMS = ("epochs", "learning_rate", "lora")
# Draws looked at per question wanted before giving up on finding more distinct seeds.
DRAWS_PER_QUESTION = 50


@dataclass(frozen=True)
class QftJob:
    """One QFT training: what to fine-tune, on which questions, behind which prompt, where.

    The training examples are (user: `prompt`, assistant: question); sampling later sends
    the same `prompt`, so the model answers it with a new question.
    """

    base_model: ModelSpec
    questions: tuple[str, ...]
    prompt: str
    params: Mapping[str, Any]  # epochs, learning_rate, lora
    out: Path


# Fine-tunes `job.base_model` into `job.out`; returns the folder (or id) to sample from.
QftTrainer = Callable[[QftJob, Reporter], str]


def qft_model(
    db: Database,
    config: ExperimentConfig,
    strategy: Strategy,
    params: Mapping[str, Any],
    pools: Mapping[str, Sequence[Seed]],
    *,
    trainer: QftTrainer | None = None,
    progress: Reporter = ignore,
) -> ModelSpec:
    """The model spec to sample QFT questions from, training it first unless cached."""
    base = base_model(config, params)
    ratios = {ref.name: ref.ratio for ref in config.seed_sets}
    questions = training_questions(
        pools, ratios, int(params["max_questions"]), seed=config.experiment.seed
    )
    # The prompt exactly as the sample stage will render it, so training and sampling match.
    prompt = render(
        current_templates(db, strategy)[SAMPLE_STAGE].body,
        initial_variables(strategy, Slot("qft"), params),
    )
    training = {name: params[name] for name in TRAINING_PARAMS}
    out = models_folder(db) / f"qft-{cache_key(base.model, questions, prompt, training)}"
    marker = out / MARKER
    stage = f"train {strategy.name}"
    if marker.is_file():
        cached = json.loads(marker.read_text(encoding="utf-8"))
        progress(ProgressEvent(stage, 1, 1, f"cached model {cached['model']}"))
        return replace(base, model=str(cached["model"]))
    progress(ProgressEvent(stage, 0, 1, f"fine-tuning {base.model} on {len(questions)} questions"))
    out.mkdir(parents=True, exist_ok=True)
    job = QftJob(base, tuple(questions), prompt, training, out)
    if trainer is None:
        trainer = PipelineTrainer(config.training, str(workspace_file(db)))
    model = trainer(job, progress)
    record = {
        "model": model,
        "base_model": base.model,
        "questions": len(questions),
        "prompt": prompt,
        "params": training,
        "seed_sets": ratios,
    }
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    progress(ProgressEvent(stage, 1, 1, f"trained {model}"))
    return replace(base, model=model)


def base_model(config: ExperimentConfig, params: Mapping[str, Any]) -> ModelSpec:
    """The model QFT fine-tunes: `base_model`, or the experiment's teacher (a solver)."""
    teacher = config.models.teacher
    name = str(params.get("base_model") or "").strip()
    return replace(teacher, model=name) if name else teacher


def training_questions(
    pools: Mapping[str, Sequence[Seed]], ratios: Mapping[str, float], count: int, *, seed: int
) -> list[str]:
    """Up to `count` distinct seed questions, mixed by the seed sets' ratios (deterministic)."""
    available = sum(len(pool) for name, pool in pools.items() if ratios.get(name, 0) > 0)
    wanted = min(count, available)
    if wanted == 0:
        raise ConfigError("qft: the experiment's seed sets hold no questions to fine-tune on")
    questions: list[str] = []
    seen: set[int] = set()
    for looked, draw in enumerate(draw_stream(pools, ratios, seed=seed, salt="qft:train")):
        if draw.seed.id not in seen:
            seen.add(draw.seed.id)
            questions.append(draw.seed.question)
        if len(questions) >= wanted or looked >= wanted * DRAWS_PER_QUESTION:
            break
    return questions


def cache_key(model: str, questions: Sequence[str], prompt: str, params: Mapping[str, Any]) -> str:
    """A short hash of everything the fine-tuned model depends on."""
    digest = hashlib.sha256()
    for question in questions:
        digest.update(hashlib.sha256(question.encode("utf-8")).digest())
    data = {"model": model, "questions": digest.hexdigest(), "prompt": prompt, "params": params}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def workspace_file(db: Database) -> Path:
    """The workspace's SQLite file (QFT keeps its model beside it)."""
    rows = db.execute("PRAGMA database_list").fetchall()
    path = next((str(r[2]) for r in rows if r[1] == "main"), "")
    if not path:
        raise ConfigError("qft keeps its fine-tuned model beside the workspace file: use a file DB")
    return Path(path)


def models_folder(db: Database) -> Path:
    """`<workspace>-models/` beside the workspace file (where fine-tuned models are kept)."""
    workspace = workspace_file(db)
    return workspace.with_name(f"{workspace.stem}-models")


def training_rows(job: QftJob) -> list[dict[str, Any]]:
    """The SFT examples: the minimal prompt as the user turn, a seed question as the reply."""
    return [
        {"messages": [{"role": "user", "content": job.prompt}, {"role": "assistant", "content": q}]}
        for q in job.questions
    ]


def train_spec(job: QftJob, settings: TrainingConfig) -> TrainSpec:
    """The student's training recipe (`[training]`: accelerate config, precision, batch,
    LoRA shape) with QFT's own epochs, learning rate and LoRA switch; no checkpoint
    selection (there is no benchmark for question writing), LoRA merged so any backend
    can sample from it."""
    lora = bool(job.params["lora"])
    qft_settings = replace(
        settings,
        method="sft",
        epochs=float(job.params["epochs"]),
        learning_rate=float(job.params["learning_rate"]),
        lora=lora,
        merge=lora,
        select_benchmarks=(),
    )
    return TrainSpec(
        data=str(job.out / "questions.jsonl"),
        model=job.base_model.model,
        out=str(job.out / "model"),
        method="sft",
        settings=qft_settings,
    )


class PipelineTrainer:
    """The real trainer: the student's SFT machinery (`pipeline.training.train`), recorded
    in the workspace as a training run like any other."""

    def __init__(self, settings: TrainingConfig, db_path: str | None) -> None:
        self.settings = settings
        self.db_path = db_path

    def __call__(self, job: QftJob, progress: Reporter) -> str:
        from pipeline.training import train

        spec = train_spec(job, self.settings)
        write_jsonl(spec.data, training_rows(job))
        result = train(spec, progress=progress, db_path=self.db_path)
        return result.merged_dir or result.model_dir
