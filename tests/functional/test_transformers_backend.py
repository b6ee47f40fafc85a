"""The transformers backend on the embedded SmolLM2-135M model (CPU, a few short prompts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.llm.backend import Completion, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from pipeline.llm.transformers_backend import TransformersBackend
from workbench.cli.main import main

pytestmark = pytest.mark.model

SEEDED = SamplingParams(temperature=0.8, top_p=0.95, top_k=40, max_new_tokens=8, seed=11)
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=8)


@pytest.fixture(scope="module")
def backend() -> Iterator[TransformersBackend]:
    loaded = load_backend(ModelSpec(max_batch_size=4))
    assert isinstance(loaded, TransformersBackend)
    yield loaded
    loaded.close()


def complete(backend: TransformersBackend, requests: list[Request]) -> list[Completion]:
    answers = dict(backend.generate(requests))
    assert sorted(answers) == list(range(len(requests)))
    done = [answers[i] for i in range(len(requests))]
    for answer in done:
        assert isinstance(answer, Completion), answer
    return done  # type: ignore[return-value]


def test_batched_chat_and_prompts_follow_their_params(backend: TransformersBackend) -> None:
    requests = [
        Request(messages=(("user", "What is 2+2?"),), params=SEEDED),
        Request(prompt="The capital of France is", params=GREEDY),
        Request(prompt="1, 2, 3,", params=SamplingParams(temperature=0, max_new_tokens=3)),
    ]
    answers = complete(backend, requests)
    for answer, request in zip(answers, requests, strict=True):
        assert answer.text.strip()
        assert answer.completion_tokens is not None
        assert 0 < answer.completion_tokens <= request.params.max_new_tokens
        assert answer.finish_reason in ("stop", "length")
        assert answer.prompt_tokens and answer.prompt_tokens > 3
    assert answers[2].completion_tokens == 3 and answers[2].finish_reason == "length"


def test_seeded_and_greedy_requests_reproduce_outside_their_batch(
    backend: TransformersBackend,
) -> None:
    seeded = Request(messages=(("user", "Name a fruit."),), params=SEEDED)
    greedy = Request(prompt="Water boils at", params=GREEDY)
    filler = Request(
        prompt="A much longer prompt that forces left padding on the others.", params=SEEDED
    )
    batched = complete(backend, [seeded, filler, greedy])
    alone = complete(backend, [seeded]) + complete(backend, [greedy])
    assert batched[0].text == alone[0].text
    assert batched[2].text == alone[1].text


def test_stop_strings_cut_the_text(backend: TransformersBackend) -> None:
    free = complete(backend, [Request(prompt="The capital of France is", params=GREEDY)])[0]
    assert "." in free.text  # the model writes a full stop within 8 tokens
    stopped = Request(
        prompt="The capital of France is",
        params=SamplingParams(temperature=0, max_new_tokens=8, stop=(".",)),
    )
    answer = complete(backend, [stopped])[0]
    assert answer.text == free.text[: free.text.index(".")]
    assert answer.finish_reason == "stop"


def test_engine_caches_real_generations(backend: TransformersBackend, db: Database) -> None:
    requests = [Request(prompt=f"{i} + {i} =", params=GREEDY) for i in range(3)]
    first = Engine(db, backend).run(requests)
    second = Engine(db, backend).run(requests)
    assert all(r.status == "done" and not r.cached for r in first)
    assert all(r.cached for r in second)
    assert [r.text for r in first] == [r.text for r in second]


def test_llm_run_with_the_embedded_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "Hello"}\n'
        '{"id": "b", "messages": [{"role": "user", "content": "Hi"}]}\n'
    )
    out = tmp_path / "o.jsonl"
    argv = [
        "llm",
        "run",
        str(prompts),
        "--out",
        str(out),
        "--db",
        str(tmp_path / "w.db"),
        "--max-new-tokens",
        "4",
        "--temperature",
        "0",
    ]
    main(argv)  # returns on success; a failure would raise SystemExit
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert all(isinstance(line["response"], str) and line["response"] for line in lines)
    assert "2 sent, 0 from cache" in capsys.readouterr().err
