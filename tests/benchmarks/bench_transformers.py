"""Transformers backend on the embedded SmolLM2-135M: batched vs one request at a time.

Baseline, same process: the same prompts sent one by one. Figures are completion
tokens/s; goal: batched >= 4x one at a time. FLAMES_BENCH_TRANSFORMERS_PROMPTS and
FLAMES_BENCH_TRANSFORMERS_TOKENS set the size (defaults 32 prompts x 12 tokens).
"""

from __future__ import annotations

import os
import time

from pipeline.llm.backend import Completion, load_backend
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from pipeline.llm.transformers_backend import TransformersBackend

PROMPTS = int(os.environ.get("FLAMES_BENCH_TRANSFORMERS_PROMPTS", "32"))
TOKENS = int(os.environ.get("FLAMES_BENCH_TRANSFORMERS_TOKENS", "12"))
GOAL = 4.0


def requests() -> list[Request]:
    params = SamplingParams(temperature=0.7, max_new_tokens=TOKENS, seed=3)
    return [
        Request(messages=(("user", f"Write a short story about the number {i}."),), params=params)
        for i in range(PROMPTS)
    ]


def tokens_per_s(backend: TransformersBackend, batches: list[list[Request]]) -> float:
    tokens = 0
    started = time.perf_counter()
    for chunk in batches:
        for _, answer in backend.generate(chunk):
            assert isinstance(answer, Completion), answer
            tokens += answer.completion_tokens or 0
    return tokens / (time.perf_counter() - started)


def main() -> None:
    started = time.perf_counter()
    backend = load_backend(ModelSpec(max_batch_size=PROMPTS))
    assert isinstance(backend, TransformersBackend)
    print(f"load: {time.perf_counter() - started:.1f} s")
    work = requests()
    tokens_per_s(backend, [work[:2]])  # warm-up
    batched = tokens_per_s(backend, [work])
    single = tokens_per_s(backend, [[r] for r in work])
    backend.close()
    ratio = batched / single
    print(f"one at a time (baseline): {single:,.1f} tokens/s")
    print(f"batched ({PROMPTS}):          {batched:,.1f} tokens/s")
    print(f"ratio: {ratio:.1f}x (goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
