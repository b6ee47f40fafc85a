"""The OpenAI-compatible backend against a loopback server that injects faults."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.llm import openai_backend
from pipeline.llm.backend import Completion, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.openai_backend import OpenAIBackend
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from tests.unit.llm_doubles import FaultPlan, LoopbackServer, answer_for

PARAMS = SamplingParams(max_new_tokens=9, seed=3, stop=("END",))


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_backend, "BACKOFF_BASE_S", 0.01)


def backend_for(*servers: LoopbackServer, **fields: object) -> OpenAIBackend:
    spec = replace(
        ModelSpec(backend="openai", base_urls=tuple(s.base_url for s in servers)), **fields
    )  # type: ignore[arg-type]
    backend = load_backend(spec)
    assert isinstance(backend, OpenAIBackend)
    return backend


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def run_all(backend: OpenAIBackend, requests: list[Request]) -> dict[int, Completion | Exception]:
    try:
        return dict(backend.generate(requests))
    finally:
        backend.close()


def test_chat_and_completions_bodies(server: LoopbackServer) -> None:
    chat = Request(messages=(("system", "be brief"), ("user", "hi")), params=PARAMS)
    plain = Request(prompt="2+2=", params=PARAMS, sample_index=2)
    answers = run_all(backend_for(server, endpoint="completions"), [chat, plain])
    assert isinstance(answers[0], Completion) and isinstance(answers[1], Completion)
    assert answers[0].text == answer_for("loopback-model", "hi", 0, 3)
    assert answers[1].text == answer_for("loopback-model", "2+2=", 0, 5)  # seed + sample index
    assert answers[0].prompt_tokens == 1 and answers[0].completion_tokens == 3
    by_path = {e.path: e.body for e in server.log}
    body = by_path["/v1/chat/completions"]
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert (body["model"], body["max_tokens"], body["stop"], body["n"]) == (
        "loopback-model",
        9,
        ["END"],
        1,
    )
    assert by_path["/v1/completions"]["prompt"] == "2+2="


def test_plain_prompts_go_to_chat_by_default(server: LoopbackServer) -> None:
    run_all(backend_for(server), [Request(prompt="x")])
    assert [e.path for e in server.log] == ["/v1/chat/completions"]
    assert server.log[0].body["messages"] == [{"role": "user", "content": "x"}]


@pytest.mark.parametrize("fault", ["429", "500", "malformed", "nochoices"])
def test_transient_faults_are_retried(fault: str) -> None:
    plan: FaultPlan = lambda content, seen: fault if seen < 2 else None  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        answers = run_all(backend_for(server), [Request(prompt=f"p{i}") for i in range(5)])
    assert all(isinstance(a, Completion) for a in answers.values())
    assert len(server.log) == 15  # two faults then a good answer, for each of the five
    assert sorted(server.answered()) == [f"p{i}" for i in range(5)]


def test_slow_answers_time_out_and_are_retried() -> None:
    plan: FaultPlan = lambda content, seen: "slow" if seen == 0 else None  # noqa: E731
    with LoopbackServer(fault=plan, slow_s=1.0) as server:
        answers = run_all(backend_for(server, timeout_s=0.2), [Request(prompt="slow one")])
    assert isinstance(answers[0], Completion)
    assert len([e for e in server.log if e.content == "slow one"]) >= 1
    assert answers[0].text == answer_for("loopback-model", "slow one")


def test_retries_run_out_into_an_error() -> None:
    plan: FaultPlan = lambda content, seen: "500"  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        answers = run_all(backend_for(server, max_retries=2), [Request(prompt="doomed")])
    assert isinstance(answers[0], Exception)
    assert "HTTP 500" in str(answers[0]) and "3 attempts" in str(answers[0])
    assert len(server.log) == 3


def test_client_errors_are_not_retried() -> None:
    plan: FaultPlan = lambda content, seen: "400"  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        answers = run_all(backend_for(server), [Request(prompt="bad")])
    assert isinstance(answers[0], Exception) and "injected 400" in str(answers[0])
    assert len(server.log) == 1


def test_a_server_refusing_top_k_says_what_to_set() -> None:
    plan: FaultPlan = lambda content, seen: "400-top_k"  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        answers = run_all(backend_for(server), [Request(prompt="hosted")])
    assert isinstance(answers[0], Exception)
    assert "Unrecognized request argument supplied: top_k" in str(answers[0])
    assert "set top_k = 0 in the role's [sampling]" in str(answers[0])
    assert len(server.log) == 1  # a client error: not retried


def test_base_urls_are_load_balanced() -> None:
    with LoopbackServer() as one, LoopbackServer() as two:
        run_all(backend_for(one, two), [Request(prompt=f"p{i}") for i in range(40)])
        assert len(one.log) == 20 and len(two.log) == 20


def test_a_failing_server_fails_over_to_the_other() -> None:
    plan: FaultPlan = lambda content, seen: "500"  # noqa: E731
    with LoopbackServer(fault=plan) as bad, LoopbackServer() as good:
        answers = run_all(backend_for(bad, good), [Request(prompt=f"p{i}") for i in range(10)])
        assert all(isinstance(a, Completion) for a in answers.values())
        assert len(good.answered()) == 10


def test_stop_strings_are_cut_client_side_too(server: LoopbackServer) -> None:
    request = Request(prompt="stop", params=replace(PARAMS, stop=("|stop",)))
    answers = run_all(backend_for(server), [request])
    assert isinstance(answers[0], Completion)
    assert answers[0].text == "loopback-model" and answers[0].finish_reason == "stop"


def test_api_key_comes_from_the_named_env_var(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAMES_TEST_KEY", "sekrit")
    run_all(backend_for(server, api_key_env="FLAMES_TEST_KEY"), [Request(prompt="k")])
    assert server.log[0].headers["authorization"] == "Bearer sekrit"


def test_model_named_in_the_spec_is_sent(server: LoopbackServer) -> None:
    backend = backend_for(server, model="my-model")
    assert backend.model_id == "my-model"
    run_all(backend, [Request(prompt="m")])
    assert server.log[0].body["model"] == "my-model"


def test_unreachable_server_is_one_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FlamesError, match=r"cannot reach server http://127\.0\.0\.1:\d+/v1"):
        load_backend(ModelSpec(backend="openai", base_urls=(f"http://127.0.0.1:{port}/v1",)))
    with pytest.raises(FlamesError, match="needs a base URL"):
        load_backend(ModelSpec(backend="openai"))


def test_engine_over_http_resumes_from_the_cache(db: Database) -> None:
    plan: FaultPlan = lambda content, seen: "429" if content.endswith("7") and seen == 0 else None  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        requests = [Request(prompt=f"q{i}", params=PARAMS) for i in range(30)]
        backend = backend_for(server, concurrency=4)
        first = Engine(db, backend).run(requests)
        second = Engine(db, backend).run(requests)
        backend.close()
        assert [r.text for r in first] == [r.text for r in second]
        assert all(r.status == "done" for r in first) and all(r.cached for r in second)
        assert sorted(server.answered()) == sorted(f"q{i}" for i in range(30))


def test_a_flaky_model_list_is_asked_again() -> None:
    with LoopbackServer(models_status=[500, 503]) as server:
        assert backend_for(server).model_id == "loopback-model"


def test_a_server_without_a_model_list_needs_the_model_named() -> None:
    """The model id is in every cache key: a guessed 'default' would re-pay for everything."""
    with LoopbackServer(models_status=[404]) as server:
        with pytest.raises(FlamesError, match="did not list its models.*--model"):
            backend_for(server)
        backend = backend_for(server, model="served-name")
        run_all(backend, [Request(prompt="d")])
        assert server.log[0].body["model"] == "served-name"


def test_a_model_list_that_keeps_failing_is_an_error_not_a_default() -> None:
    with (
        LoopbackServer(models_status=[500] * 8) as server,
        pytest.raises(FlamesError, match="--model"),
    ):
        backend_for(server)


def test_a_huge_reply_is_cut_at_the_cap_with_a_reason(db: Database) -> None:
    """Three 100 MB replies once took ~1 GB of memory; now reading stops past the cap."""
    huge = '\u00e9x"' * 400_000  # escaped in the body: the text is 1.2 M chars
    with LoopbackServer(responder=lambda body: huge) as server:
        backend = backend_for(server, max_response_bytes=10_000)
        results = Engine(db, backend).run([Request(prompt="big", params=PARAMS)])
        backend.close()
    (result,) = results
    assert result.status == "done" and result.finish_reason == "length"
    assert result.text is not None and 0 < len(result.text.encode("utf-8")) <= 10_000
    assert huge.startswith(result.text[:-1])
    row = db.execute("SELECT cut_reason, length(response) FROM requests").fetchone()
    assert row[0] and "stopped reading" in row[0]
    assert row[1] <= 10_000


def test_server_down_for_three_runs_then_up_the_fourth_run_completes(db: Database) -> None:
    """Goal figure: failures are never final; each run tries again from scratch."""
    down = {"runs": 3}
    plan: FaultPlan = lambda content, seen: "500" if down["runs"] > 0 else None  # noqa: E731
    requests = [Request(prompt=f"q{i}", params=PARAMS) for i in range(12)]
    with LoopbackServer(fault=plan) as server:
        for _ in range(3):
            backend = backend_for(server, max_retries=1, concurrency=4)
            results = Engine(db, backend, max_attempts=2).run(requests)
            backend.close()
            assert all(r.status == "failed" for r in results)
            down["runs"] -= 1
        backend = backend_for(server, max_retries=1, concurrency=4)
        results = Engine(db, backend, max_attempts=2).run(requests)
        backend.close()
    assert all(r.status == "done" for r in results)
    assert db.execute("SELECT COUNT(*) FROM requests WHERE status = 'done'").fetchone()[0] == 12
