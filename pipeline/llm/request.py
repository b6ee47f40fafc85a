"""One model call as data: what to send (prompt or chat), how to sample, and its cache key.

A request's key is a sha256 over a canonical JSON of (model id, prompt or messages,
sampling params, sample index), so the same call made twice is found in the cache.
The `n` of the sampling params is not part of the key: the engine expands a request
with n > 1 into n requests with sample_index 0..n-1 and n = 1, one cache row each.

A chat with `continue_final` set ends in an assistant message that the model continues
(a Monte-Carlo rollout from a solution prefix) instead of answering in a new turn. The flag
enters the key only when set, so every key made before it existed stays valid.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pipeline.llm.spec import SamplingParams

KEY_VERSION = 1  # bump when the canonical form below changes (old cache rows then miss)

Messages = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """A prompt (plain completion) or a chat (role, content) list, with sampling params.

    Exactly one of `prompt` and `messages` is set. With `continue_final`, the last message
    is an assistant prefix: the backend renders the chat up to the end of that prefix (no
    end-of-turn token) and the completion is the text that continues it.
    """

    prompt: str | None = None
    messages: Messages | None = None  # (role, content) pairs
    params: SamplingParams = field(default_factory=SamplingParams)
    sample_index: int = 0
    continue_final: bool = False

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a Request needs exactly one of prompt and messages")
        if self.continue_final and (not self.messages or self.messages[-1][0] != "assistant"):
            raise ValueError("continue_final needs a chat whose last message is the assistant's")

    def key(self, model_id: str) -> str:
        """The cache key of this request sent to `model_id` (sha256 hex)."""
        return hashlib.sha256(canonical_json(self, model_id).encode("utf-8")).hexdigest()

    def rendered(self) -> str:
        """What is stored in the `requests.prompt` column: the prompt, or messages as JSON."""
        if self.prompt is not None:
            return self.prompt
        assert self.messages is not None
        return json.dumps([{"role": r, "content": c} for r, c in self.messages], ensure_ascii=False)

    def chat(self) -> list[dict[str, str]]:
        """The messages in the OpenAI/transformers shape ([{role, content}, ...])."""
        assert self.messages is not None
        return [{"role": r, "content": c} for r, c in self.messages]

    def samples(self) -> list[Request]:
        """This request expanded into its n samples (n = 1 each, sample_index offset)."""
        n = max(1, self.params.n)
        if n == 1 and self.params.n == 1:
            return [self]
        one = replace(self.params, n=1)
        return [replace(self, params=one, sample_index=self.sample_index + i) for i in range(n)]

    def sample_seed(self) -> int | None:
        """The seed for this sample: params.seed + sample_index, so samples differ."""
        if self.params.seed is None:
            return None
        return self.params.seed + self.sample_index


@functools.lru_cache(maxsize=1024)
def params_json(params: SamplingParams) -> str:
    """Sampling params as canonical JSON, without `n` (see the module docstring)."""
    return json.dumps(_params_dict(params), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=1024)  # asdict deep-copies: too slow for every key at 500/s
def _params_dict(params: SamplingParams) -> dict[str, Any]:
    """The params part of a key (shared between calls: never mutate it)."""
    data = asdict(params)
    data.pop("n", None)
    data["stop"] = list(params.stop)
    return data


def canonical_json(request: Request, model_id: str) -> str:
    """The exact text hashed into a request key."""
    body: dict[str, Any] = {
        "v": KEY_VERSION,
        "model": model_id,
        "params": _params_dict(request.params),
        "sample_index": request.sample_index,
    }
    if request.prompt is not None:
        body["prompt"] = request.prompt
    else:
        body["messages"] = [list(m) for m in request.messages or ()]
    if request.continue_final:  # only when set: keys of ordinary requests are unchanged
        body["continue_final"] = True
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Result:
    """The outcome of one request: its text when done, its error when failed.

    `cached` is True when the engine answered from the `requests` table without
    calling the backend in this run.
    """

    key: str
    status: str  # 'done' | 'failed'
    text: str | None
    error: str | None
    cached: bool
    finish_reason: str | None = None
    sample_index: int = 0
