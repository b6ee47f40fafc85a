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
from pipeline.errors import ConfigError
from pipeline.llm.spec import ModelSpec
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.seeds.sampling import Seed, draw_stream
from pipeline.strategies import Strategy
from pipeline.strategies.prompts import current_templates
from pipeline.strategies.template import render

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
    prompt = render(current_templates(db, strategy)[SAMPLE_STAGE].body, {}).strip()
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
    model = (trainer or train_qft)(job, progress)
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


def models_folder(db: Database) -> Path:
    """`<workspace>-models/` beside the workspace file (where fine-tuned models are kept)."""
    rows = db.execute("PRAGMA database_list").fetchall()
    path = next((str(r[2]) for r in rows if r[1] == "main"), "")
    if not path:
        raise ConfigError("qft keeps its fine-tuned model beside the workspace file: use a file DB")
    workspace = Path(path)
    return workspace.with_name(f"{workspace.stem}-models")


def train_qft(job: QftJob, progress: Reporter) -> str:
    """The real trainer: the student's SFT machinery (`pipeline.training`) on the questions."""
    raise ConfigError("qft training needs pipeline.training, which is not available yet")
