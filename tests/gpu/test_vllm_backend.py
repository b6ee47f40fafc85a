"""The vLLM backend on a real GPU; skipped where vllm or a CUDA GPU is missing."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.llm.backend import Completion, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams


def gpu_present() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


HAS_VLLM = importlib.util.find_spec("vllm") is not None
needs_gpu = pytest.mark.skipif(not (HAS_VLLM and gpu_present()), reason="needs vllm and a CUDA GPU")
PARAMS = SamplingParams(temperature=0.0, max_new_tokens=16, stop=("\n\n",))


@pytest.mark.skipif(HAS_VLLM and gpu_present(), reason="checks the error where vllm/GPU lack")
def test_missing_vllm_or_gpu_is_one_clear_error() -> None:
    with pytest.raises(FlamesError, match="vllm backend needs"):
        load_backend(ModelSpec(backend="vllm"))


@pytest.fixture(scope="module")
def backend() -> Iterator[object]:
    loaded = load_backend(ModelSpec(backend="vllm", max_batch_size=16))
    yield loaded
    loaded.close()


@needs_gpu
def test_vllm_generates_prompts_and_chats(backend: object, db: Database) -> None:
    requests = [
        Request(prompt="The capital of France is", params=PARAMS),
        Request(messages=(("user", "What is 2+2?"),), params=PARAMS),
    ]
    answers = dict(backend.generate(requests))  # type: ignore[attr-defined]
    for answer in answers.values():
        assert isinstance(answer, Completion) and answer.text.strip()
        assert answer.completion_tokens and answer.completion_tokens <= 16
    first = Engine(db, backend).run(requests)  # type: ignore[arg-type]
    second = Engine(db, backend).run(requests)  # type: ignore[arg-type]
    assert [r.text for r in first] == [r.text for r in second]
    assert all(r.cached for r in second)


@needs_gpu
def test_vllm_seeded_samples_reproduce(backend: object) -> None:
    params = SamplingParams(temperature=1.0, max_new_tokens=12, seed=5)
    request = Request(prompt="Once upon a time", params=params)
    one = dict(backend.generate([request]))[0]  # type: ignore[attr-defined]
    two = dict(backend.generate([request, Request(prompt="x", params=params)]))[0]  # type: ignore[attr-defined]
    assert isinstance(one, Completion) and isinstance(two, Completion)
    assert one.text == two.text
