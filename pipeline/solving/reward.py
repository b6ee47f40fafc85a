"""Reward-model scores per teacher solution: a pluggable `Scorer`, stored in `solutions.reward`.

The FLAMES policy "solvability judge + reward model best-of-3" trains on the solution a
reward model rates highest (`pipeline.selection.policy`, policy `judge_reward`). Two real
scorers:

- `OpenAIRewardScorer` targets vLLM's Pooling API: `POST {server}/pooling` with a chat
  `messages` body (vLLM applies the reward model's own chat template), as served by
  `vllm serve MODEL --runner pooling` (older vLLM: `--task reward`). A reward model answers
  with one score per token (`data[0].data` = [[r0], [r1], ...]) or one per sequence
  ([r]); the reward is the last number of the last row, i.e. the score at the final token,
  as reward models such as Qwen2.5-Math-RM are read. A classifier served as `classify` returns
  class probabilities; the last class is taken as "good".
- `TransformersRewardScorer` runs a local `AutoModelForSequenceClassification` checkpoint:
  one logit (num_labels = 1) is the reward; with several labels, the last label's probability.

Scoring is resumable: a solution keeps its score and the scorer's name, so a rerun scores
only what is missing (or what another reward model scored), chunk by chunk.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.experiments.lookup import resolve_experiment
from pipeline.llm.spec import EMBEDDED_MODEL, ModelSpec
from pipeline.progress import ProgressEvent, Reporter, ignore
from storage.rewards import count_unscored, store_rewards, unscored

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
CHUNK = 64


class Scorer(Protocol):
    """Scores (problem, solution) pairs; `model_id` is stored with every score."""

    model_id: str

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
        """One reward per pair, None where the model gave none (retried on the next run)."""
        ...

    def close(self) -> None:
        """Release the model or the connections."""
        ...


def conversation(problem: str, solution: str) -> list[dict[str, str]]:
    """The chat a reward model reads: the problem as the user turn, the solution as the reply."""
    return [{"role": "user", "content": problem}, {"role": "assistant", "content": solution}]


def reward_from_pooling(body: Any) -> float:
    """The reward in a vLLM Pooling API response: the last number of the last row."""
    try:
        value: Any = body["data"][0]["data"]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"no data[0].data in the pooling response: {str(body)[:200]}") from None
    while isinstance(value, list):
        if not value:
            raise ValueError("an empty score list in the pooling response")
        value = value[-1]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a score that is not a number: {value!r}")
    return float(value)


class OpenAIRewardScorer:
    """Scores through an OpenAI-compatible server's `/pooling` route (vLLM), concurrently."""

    def __init__(self, spec: ModelSpec) -> None:
        import httpx

        if not spec.base_urls:
            raise FlamesError(
                "models.reward.base_urls is empty: give the reward server, e.g. "
                "http://127.0.0.1:8000/v1 (vllm serve MODEL --runner pooling)"
            )
        if spec.model == EMBEDDED_MODEL:
            raise FlamesError("models.reward.model: name the reward model the server serves")
        self.spec = spec
        self.model_id = spec.model
        # The pooling route sits beside /v1, not under it.
        self.urls = [u.rstrip("/").removesuffix("/v1") + "/pooling" for u in spec.base_urls]
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        self._client = httpx.Client(
            timeout=spec.timeout_s, headers={"Authorization": f"Bearer {key}"} if key else {}
        )
        self._pool = ThreadPoolExecutor(max_workers=max(1, spec.concurrency))

    def _one(self, index: int, problem: str, solution: str) -> float | None:
        import httpx

        body = {"model": self.model_id, "messages": conversation(problem, solution)}
        for attempt in range(self.spec.max_retries + 1):
            url = self.urls[(index + attempt) % len(self.urls)]
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                try:
                    return reward_from_pooling(response.json())
                except ValueError:
                    pass  # a malformed body: worth another try, like a 5xx
            elif response is not None and response.status_code not in RETRYABLE_STATUS:
                raise FlamesError(
                    f"reward server {url} refused the request ({response.status_code}: "
                    f"{response.text[:160]}); is {self.model_id} served with --runner pooling?"
                )
            time.sleep(min(20.0, 0.25 * 2**attempt) * random.random())
        return None

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
        futures = [self._pool.submit(self._one, i, p, s) for i, (p, s) in enumerate(pairs)]
        return [future.result() for future in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


class TransformersRewardScorer:
    """A local sequence-classification reward model (CPU or GPU), in batches."""

    def __init__(self, spec: ModelSpec) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if spec.model == EMBEDDED_MODEL:
            raise FlamesError(
                "models.reward.model: the embedded model is not a reward model; name a "
                "sequence-classification checkpoint (a folder or a Hub id)"
            )
        self.model_id = spec.model
        self.batch_size = max(1, spec.max_batch_size)
        device = spec.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
        chosen = dtype.get(
            spec.dtype, torch.bfloat16 if device.startswith("cuda") else torch.float32
        )
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(spec.model)
            model, info = AutoModelForSequenceClassification.from_pretrained(
                spec.model, dtype=chosen, output_loading_info=True
            )
        except OSError as exc:
            raise FlamesError(f"cannot load reward model {spec.model}: {exc}") from None
        fresh = [
            key for key in info.get("missing_keys", []) if "score" in key or "classifier" in key
        ]
        if fresh:
            raise FlamesError(
                f"{spec.model} has no trained reward head ({fresh[0]} is missing): name a "
                "reward model (a *ForSequenceClassification checkpoint)"
            )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model = model.to(device).eval()
        self.device = device

    def _text(self, problem: str, solution: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                conversation(problem, solution), tokenize=False
            )
            return str(text)
        return f"{problem}\n\n{solution}"

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
        import torch

        scores: list[float | None] = []
        for start in range(0, len(pairs), self.batch_size):
            texts = [self._text(p, s) for p, s in pairs[start : start + self.batch_size]]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
            with torch.inference_mode():
                logits = self.model(**batch.to(self.device)).logits.float()
            values = logits[:, 0] if logits.shape[-1] == 1 else logits.softmax(-1)[:, -1]
            scores.extend(float(v) for v in values.cpu())
        return scores

    def close(self) -> None:
        del self.model


def load_scorer(spec: ModelSpec) -> Scorer:
    """The reward scorer a model spec names (openai: a vLLM pooling server; transformers)."""
    if spec.backend == "openai":
        return OpenAIRewardScorer(spec)
    if spec.backend == "transformers":
        return TransformersRewardScorer(spec)
    raise FlamesError(
        f"models.reward.backend '{spec.backend}' cannot score rewards: serve the model with "
        '`vllm serve MODEL --runner pooling` and use backend "openai", or use "transformers"'
    )


@dataclass
class RewardReport:
    """What a scoring run did."""

    model: str
    todo: int = 0  # solutions without a score from this model when the run started
    scored: int = 0
    failed: int = 0  # no score came back (retried on the next run)


def score_rewards(
    db: Database,
    experiment: str | int,
    scorer: Scorer,
    *,
    rescore: bool = False,
    chunk: int = CHUNK,
    progress: Reporter = ignore,
) -> RewardReport:
    """Score every solution of the experiment that `scorer` has not scored yet.

    Each chunk is stored in one transaction as it finishes, so an interrupted run keeps its
    work and the next run continues; `rescore` scores everything again.
    """
    experiment_id = resolve_experiment(db, experiment)
    report = RewardReport(scorer.model_id)
    report.todo = count_unscored(db, experiment_id, scorer.model_id, rescore=rescore)
    progress(ProgressEvent("reward", 0, report.todo))
    after = 0
    while True:
        rows = unscored(
            db, experiment_id, scorer.model_id, after=after, limit=chunk, rescore=rescore
        )
        if not rows:
            break
        after = rows[-1].solution_id
        scores = scorer.score([(row.problem, row.solution) for row in rows])
        done = [(row.solution_id, s) for row, s in zip(rows, scores, strict=True) if s is not None]
        store_rewards(db, scorer.model_id, done)
        report.scored += len(done)
        report.failed += len(rows) - len(done)
        progress(
            ProgressEvent(
                "reward",
                report.scored + report.failed,
                report.todo,
                f"failed {report.failed}" if report.failed else "",
                report.failed,
            )
        )
    return report
