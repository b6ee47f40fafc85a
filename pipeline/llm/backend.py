"""The backend interface every model runner implements, and the factory that picks one.

A backend turns a batch of requests into completions and yields each as soon as it
finishes, so the engine can store it at once. Heavy libraries (torch, transformers,
vllm, httpx) are imported only inside the concrete backend modules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.errors import FlamesError
from pipeline.llm.request import Request
from pipeline.llm.spec import BACKENDS, ModelSpec


@dataclass
class Completion:
    """What a model returned for one request (raw text; nothing parsed)."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float | None = None  # measured by the backend when it can; else by the engine
    cut_reason: str | None = None  # set when the backend stopped reading an oversized reply


@runtime_checkable
class Backend(Protocol):
    """Runs requests on one model. `model_id` is part of every cache key."""

    model_id: str

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Yield (index into `requests`, completion or the error) as each one finishes."""
        ...

    def close(self) -> None:
        """Release the model, threads and connections."""
        ...


def load_backend(spec: ModelSpec) -> Backend:
    """The backend `spec` names, ready to generate.

    Raises FlamesError with one clear line for an unknown backend, a missing model
    path, vllm or a GPU missing, or an unreachable server.
    """
    if spec.backend == "transformers":
        from pipeline.llm.transformers_backend import TransformersBackend

        return TransformersBackend.load(spec)
    if spec.backend == "vllm":
        from pipeline.llm.vllm_backend import VllmBackend

        return VllmBackend.load(spec)
    if spec.backend == "openai":
        from pipeline.llm.openai_backend import OpenAIBackend

        return OpenAIBackend.load(spec)
    raise FlamesError(f"unknown backend '{spec.backend}': use one of {', '.join(BACKENDS)}")


def preferred_batch_size(backend: Backend, default: int = 64) -> int:
    """How many requests the engine hands `backend` at once (its `batch_size` if it has one)."""
    size = getattr(backend, "batch_size", None)
    return size if isinstance(size, int) and size > 0 else default


def truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` cut before the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def chat_template_text(value: str) -> str:
    """A chat-template override from a model spec: the Jinja text itself, or a file of it."""
    if len(value) < 300 and "{" not in value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise FlamesError(f"chat_template file {value} does not exist")
        return path.read_text(encoding="utf-8")
    return value
