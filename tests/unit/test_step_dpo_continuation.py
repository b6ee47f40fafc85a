"""Continuation requests: an assistant prefix the model continues, in the key and in each backend."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from pipeline.llm.backend import load_backend
from pipeline.llm.request import Request, canonical_json
from pipeline.llm.spec import ModelSpec, SamplingParams
from pipeline.llm.transformers_backend import TransformersBackend
from tests.unit.llm_doubles import LoopbackServer

CHAT = (("user", "What is 2 + 3?"), ("assistant", "Step 1: 2 + 3 = 5."))
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_the_flag_enters_the_key_only_when_set() -> None:
    plain = Request(messages=CHAT, params=SamplingParams(seed=1))
    continued = Request(messages=CHAT, params=SamplingParams(seed=1), continue_final=True)
    assert "continue_final" not in canonical_json(plain, "m")  # old keys stay valid
    assert '"continue_final":true' in canonical_json(continued, "m")
    assert plain.key("m") != continued.key("m")
    assert all(
        s.continue_final
        for s in Request(messages=CHAT, continue_final=True, params=SamplingParams(n=3)).samples()
    )


def test_continuing_needs_an_assistant_message_last() -> None:
    with pytest.raises(ValueError, match="assistant"):
        Request(messages=(("user", "hi"),), continue_final=True)
    with pytest.raises(ValueError, match="assistant"):
        Request(prompt="hi", continue_final=True)


def test_openai_chat_asks_the_server_to_continue_the_final_message() -> None:
    with LoopbackServer() as server:
        backend = load_backend(ModelSpec(backend="openai", base_urls=(server.base_url,)))
        try:
            list(
                backend.generate(
                    [Request(messages=CHAT, continue_final=True), Request(messages=CHAT[:1])]
                )
            )
        finally:
            backend.close()
        bodies = {e.body["messages"][-1]["role"]: e.body for e in server.log}
    assert bodies["assistant"]["continue_final_message"] is True
    assert bodies["assistant"]["add_generation_prompt"] is False
    assert bodies["assistant"]["messages"][-1]["content"] == "Step 1: 2 + 3 = 5."
    assert "continue_final_message" not in bodies["user"]
    assert "add_generation_prompt" not in bodies["user"]


def _tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(WordLevel({"<unk>": 0, "<pad>": 1}, unk_token="<unk>"))
    words.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, unk_token="<unk>", pad_token="<pad>"
    )
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def test_transformers_renders_the_prefix_as_the_open_assistant_turn() -> None:
    backend = TransformersBackend.__new__(TransformersBackend)
    backend.tokenizer = _tiny_tokenizer()
    backend.model_id = "tiny"
    continued = backend._render(Request(messages=CHAT, continue_final=True))
    assert continued == "<|user|>What is 2 + 3?<|end|><|assistant|>Step 1: 2 + 3 = 5."
    fresh = backend._render(Request(messages=CHAT[:1]))
    assert fresh == "<|user|>What is 2 + 3?<|end|><|assistant|>"


class _FakeLLM:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def chat(self, messages: list[Any], params: list[Any], **kwargs: Any) -> list[Any]:
        self.calls.append({"messages": messages, **kwargs})
        out = types.SimpleNamespace(text="ok", finish_reason="stop", token_ids=[1])
        return [types.SimpleNamespace(outputs=[out], prompt_token_ids=[1, 2]) for _ in messages]


def test_vllm_sends_continuations_in_their_own_chat_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("vllm")
    fake.SamplingParams = lambda **kw: kw  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", fake)
    from pipeline.llm.vllm_backend import run_llm

    llm = _FakeLLM()
    requests = [Request(messages=CHAT[:1]), Request(messages=CHAT, continue_final=True)]
    answers = run_llm(llm, requests, None)
    assert [getattr(a, "text", None) for a in answers] == ["ok", "ok"]
    plain, continued = llm.calls
    assert plain["add_generation_prompt"] is True and plain["continue_final_message"] is False
    assert continued["add_generation_prompt"] is False
    assert continued["continue_final_message"] is True
    assert continued["messages"][0][-1] == {"role": "assistant", "content": "Step 1: 2 + 3 = 5."}


def _bos_tokenizer(adds_bos: bool) -> Any:
    """A tokenizer whose template starts with its BOS; encoding adds one too if `adds_bos`."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(WordLevel({"<unk>": 0, "<pad>": 1, "<s>": 2}, unk_token="<unk>"))
    words.pre_tokenizer = Whitespace()
    if adds_bos:
        words.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, unk_token="<unk>", pad_token="<pad>", bos_token="<s>"
    )
    tokenizer.chat_template = "{{ bos_token }}" + TEMPLATE
    return tokenizer


def _send_by_completions(tokenizer: Any, requests: list[Request], received: list[Any]) -> None:
    """Send `requests` to a loopback server through an openai backend set to continue through
    /completions with `tokenizer` (a folder); what the server got goes into `received`, also
    when the backend raised."""
    with LoopbackServer() as server:
        backend = load_backend(
            ModelSpec(
                backend="openai",
                model="served",
                base_urls=(server.base_url,),
                continuation="completions",
                tokenizer=str(tokenizer),
            )
        )
        try:
            list(backend.generate(requests))
        finally:
            backend.close()
            received.extend(server.log)


@pytest.mark.parametrize("adds_bos", [True, False], ids=["server-adds-bos", "template-bos"])
def test_openai_completions_continuation_renders_the_prefix_here(
    tmp_path: Any, adds_bos: bool
) -> None:
    """For servers without the chat extension: the open assistant turn goes to /completions,
    rendered with the model's tokenizer. A BOS the tokenizer adds when encoding is left to the
    server's; a BOS only the template writes (SmolLM2's <|im_start|>) stays."""
    _bos_tokenizer(adds_bos).save_pretrained(str(tmp_path / "tok"))
    log: list[Any] = []
    requests = [Request(messages=CHAT, continue_final=True), Request(messages=CHAT[:1])]
    _send_by_completions(tmp_path / "tok", requests, log)
    bodies = {
        "chat" if e.path.endswith("/chat/completions") else "completions": e.body for e in log
    }
    assert bodies["completions"]["prompt"] == ("" if adds_bos else "<s>") + (
        "<|user|>What is 2 + 3?<|end|><|assistant|>Step 1: 2 + 3 = 5."
    )
    assert bodies["completions"]["model"] == "served"
    assert "continue_final_message" not in bodies["completions"]
    assert bodies["chat"]["messages"] == [{"role": "user", "content": "What is 2 + 3?"}]


def test_openai_completions_continuation_without_a_tokenizer_says_what_to_set(
    tmp_path: Any,
) -> None:
    from pipeline.errors import FlamesError

    received: list[Any] = []
    with pytest.raises(FlamesError, match="set `tokenizer` in the model spec"):
        _send_by_completions(
            tmp_path / "missing", [Request(messages=CHAT, continue_final=True)], received
        )
    assert received == []  # it failed before sending anything
