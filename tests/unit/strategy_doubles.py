"""A scripted test-double backend and a small workspace for the strategy tests.

The backend answers each request with a function of its prompt, so a test can
script every stage's reply (or inject empty, truncated, hostile outputs and errors).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sqlite_utils import Database

from pipeline.experiments.store import create_experiment
from pipeline.generation.qft import QftJob
from pipeline.llm.backend import Completion
from pipeline.llm.request import Request
from pipeline.progress import Reporter
from pipeline.seeds import import_seeds
from storage.database import open_db

Reply = str | Completion | Exception
Script = Callable[[str, Request], Reply]

SEEDS = [
    {
        "question": "Tom has 12 apples and buys 7 more. How many apples does he have?",
        "answer": "19",
    },
    {
        "question": "A train travels 60 km per hour for 3 hours. How far does it go?",
        "answer": "180",
    },
    {"question": "What is the sum of the first 10 positive integers?", "answer": "55"},
    {"question": "A rectangle is 4 cm wide and 9 cm long. What is its area?", "answer": "36"},
    {"question": "Sara reads 15 pages a day. How many pages does she read in 6 days?"},
]

# Scripted replies of the run tests: every tag a stage may ask for, and problems in
# distinct wordings (near-duplicate detection keeps them apart).
SECTIONS = (
    "suggestions",
    "concepts",
    "key_concepts",
    "solution",
    "answer",
    "question",
    "result",
    "distractors",
)
STORIES = (
    "A farmer has {n} cows and buys {m} more. How many cows are there now?",
    "A library lends {n} books on Monday and {m} on Tuesday; how many in total?",
    "Find the remainder when {n} squared is divided by {m}.",
    "A train covers {n} km in {m} hours. What is its average speed?",
    "What is the area of a rectangle with sides {n} cm and {m} cm?",
)


class ScriptedBackend:
    """Replies from a script; records every prompt it was sent."""

    def __init__(self, script: Script, model_id: str = "scripted-model") -> None:
        self.model_id = model_id
        self.script = script
        self.prompts: list[str] = []
        self.closed = False

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        for i, request in enumerate(requests):
            prompt = request.messages[-1][1] if request.messages else request.prompt or ""
            self.prompts.append(prompt)
            reply = self.script(prompt, request)
            if isinstance(reply, str):
                reply = Completion(reply, "stop", 10, 10)
            yield i, reply

    def close(self) -> None:
        self.closed = True


def workspace(
    tmp_path: Path,
    strategies: dict[str, dict[str, object]],
    *,
    seed_sets: dict[str, list[dict[str, str]]] | None = None,
    seed: int = 7,
    max_new_tokens: int = 64,
    extra_toml: str = "",
) -> tuple[Database, str]:
    """A workspace with seed sets and an experiment 'exp' running `strategies`."""
    db = open_db(tmp_path / "flames.db")
    sets = seed_sets or {"toy": SEEDS}
    lines = [f'[experiment]\nname = "exp"\nseed = {seed}\n']
    for name, rows in sets.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        import_seeds(db, str(path), name)
        lines.append(f'[[seed_sets]]\nname = "{name}"\nratio = 1.0\n')
    for name, table in strategies.items():
        lines.append(f"[strategies.{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    lines.append(
        f"[sampling.generator]\ntemperature = 0.7\nmax_new_tokens = {max_new_tokens}\nseed = 1\n"
    )
    lines.append(extra_toml)
    config = tmp_path / "exp.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    create_experiment(db, "exp", config_path=config)
    return db, "exp"


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


class RecordingTrainer:
    """A QFT trainer double: records each job and 'trains' by writing a folder."""

    def __init__(self) -> None:
        self.jobs: list[QftJob] = []

    def __call__(self, job: QftJob, progress: Reporter) -> str:
        self.jobs.append(job)
        (job.out / "model").mkdir(parents=True, exist_ok=True)
        return str(job.out / "model")
