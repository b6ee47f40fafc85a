"""The OpenAI-compatible HTTP backend (vLLM, SGLang, llama.cpp servers, hosted APIs).

Requests run concurrently on an asyncio loop in a background thread (one per backend,
with one pooled aiohttp session: httpx's async pool tops out near 150 requests/s on a
small machine, aiohttp passes 2,000), so `generate` stays a plain iterator that yields each
answer as it arrives. Attempts rotate over the base URLs; 429s, 5xx, timeouts,
connection errors and malformed bodies are retried with exponential backoff and
full jitter (a Retry-After header is honoured); other 4xx fail at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from itertools import count
from typing import Any

import aiohttp
import httpx

from pipeline.errors import FlamesError
from pipeline.llm.backend import Completion, truncate_at_stop
from pipeline.llm.request import Request
from pipeline.llm.spec import EMBEDDED_MODEL, ModelSpec

BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 20.0
PROBE_TIMEOUT_S = 5.0  # to connect; reading /models may take the request timeout
PROBE_ATTEMPTS = 4
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
# A body may escape text up to 6x (\uXXXX); beyond this the reply is over the cap for sure.
BODY_FACTOR = 6
BODY_SLACK = 64 * 1024
READ_CHUNK = 64 * 1024


class RetryableError(Exception):
    """A failure worth another try (rate limit, server error, timeout, bad body)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestFailed(Exception):
    """A request the server rejected for good, or that ran out of retries."""


class OpenAIBackend:
    """Sends requests to one or more OpenAI-compatible servers, `concurrency` at a time."""

    def __init__(self, spec: ModelSpec, model_id: str, api_key: str | None) -> None:
        self.spec = spec
        self.model_id = model_id
        self.base_urls = [u.rstrip("/") for u in spec.base_urls]
        self.concurrency = max(1, spec.concurrency)
        # Large engine batches: a batch boundary idles the server while its slowest request ends.
        self.batch_size = max(4096, self.concurrency * 32)
        self.max_retries = max(0, spec.max_retries)
        # The engine stores at most this many bytes of a reply; reading stops well past it.
        self.max_response_bytes = max(1, spec.max_response_bytes)
        self._body_limit = self.max_response_bytes * BODY_FACTOR + BODY_SLACK
        self._release_every = max(1, self.concurrency // 8)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._headers = headers
        self._turn = count()
        self._tokenizer: Any = None  # loaded by the first continuation sent to /completions
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="openai-backend", daemon=True
        )
        self._thread.start()
        self._client: aiohttp.ClientSession = self._call(self._make_client()).result()

    @classmethod
    def load(cls, spec: ModelSpec) -> OpenAIBackend:
        """Check the servers answer; with no model named, take the one the server lists.

        The model id is part of every cache key, so it is never guessed: a server that
        cannot list its models, or lists several, needs the model named (--model).
        """
        if not spec.base_urls:
            raise FlamesError(
                "the openai backend needs a base URL: give --base-url "
                "(e.g. http://127.0.0.1:8000/v1) or base_urls in the model spec"
            )
        api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        served = _probe(spec.base_urls, api_key, spec.timeout_s)
        model = spec.model
        if model == EMBEDDED_MODEL:
            if len(served) != 1:
                listed = (
                    f"it lists {len(served)} ({', '.join(served[:5])})"
                    if served
                    else "it did not list its models (/models failed or is missing)"
                )
                raise FlamesError(
                    f"no model named for server {spec.base_urls[0]} and {listed}: name the "
                    "served model with --model (or `model` in the model spec); it is part of "
                    "every cache key, so it is never guessed"
                )
            model = served[0]
        return cls(spec, model, api_key)

    async def _make_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency)
        return aiohttp.ClientSession(
            headers=self._headers,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.spec.timeout_s),
        )

    def _call(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Send all of `requests` concurrently; yield each answer as it arrives.

        A slot of `concurrency` is held from sending a request until the caller asks for
        the next answer after it (the engine has stored it by then), so at most
        `concurrency` answers are ever sent-but-unstored: what a kill can make re-send.
        """
        if self.spec.continuation == "completions" and any(r.continue_final for r in requests):
            self._chat_tokenizer()  # here, not in the send loop: a missing one fails in one line
        answers: queue.SimpleQueue[tuple[int, Completion | Exception]] = queue.SimpleQueue()
        gate = asyncio.Semaphore(self.concurrency)
        job = self._call(self._send_all(requests, answers, gate))
        owed = 0  # slots of stored answers not yet handed back (batched: each wakes the loop)
        try:
            for yielded in range(len(requests)):
                owed += 1 if yielded else 0
                if owed and (owed >= self._release_every or answers.empty()):
                    self._loop.call_soon_threadsafe(_release, gate, owed)
                    owed = 0
                yield self._next(answers, job)
        finally:
            job.cancel()  # an interrupted caller: stop sending the rest

    @staticmethod
    def _next(
        answers: queue.SimpleQueue[tuple[int, Completion | Exception]], job: Future[None]
    ) -> tuple[int, Completion | Exception]:
        while True:
            try:
                return answers.get(timeout=0.5)
            except queue.Empty:
                if job.done() and answers.empty():
                    error = job.exception()
                    raise RuntimeError(f"the request loop stopped early: {error!r}") from error

    async def _send_all(
        self,
        requests: Sequence[Request],
        answers: queue.SimpleQueue[tuple[int, Completion | Exception]],
        gate: asyncio.Semaphore,
    ) -> None:
        async def one(index: int, request: Request) -> None:
            await gate.acquire()  # released by `generate` once the answer is consumed
            try:
                answer: Completion | Exception = await self._send(request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                answer = exc
            answers.put((index, answer))

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

    async def _send(self, request: Request) -> Completion:
        path, body = self._body(request)
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            url = self.base_urls[next(self._turn) % len(self.base_urls)] + path
            began = time.monotonic()
            try:
                data = await self._post(url, body)
                if isinstance(data, _Oversized):
                    completion = data.completion(chat=path.endswith("chat/completions"))
                else:
                    completion = _parse(data, chat=path.endswith("chat/completions"))
            except RetryableError as exc:
                last = str(exc)
                if attempt == self.max_retries:
                    break
                await asyncio.sleep(_backoff(attempt, exc.retry_after))
                continue
            completion.latency_s = time.monotonic() - began
            completion.text, cut = truncate_at_stop(completion.text, request.params.stop)
            if cut:
                completion.finish_reason = "stop"
            return completion
        raise RequestFailed(f"{last} (gave up after {self.max_retries + 1} attempts)")

    async def _post(self, url: str, body: dict[str, Any]) -> Any:
        """The parsed JSON body, or `_Oversized` when the body passed the read limit."""
        try:
            async with self._client.post(url, json=body) as response:
                status = response.status
                retry_after = response.headers.get("retry-after")
                raw, whole = await self._read_capped(response)
                if not whole and status < 400:
                    return _Oversized(raw, self._body_limit)
        except TimeoutError as exc:
            raise RetryableError(f"timeout after {self.spec.timeout_s:g} s from {url}") from exc
        except aiohttp.ClientError as exc:
            raise RetryableError(f"{type(exc).__name__} talking to {url}: {exc}") from exc
        if status in RETRYABLE_STATUS:
            raise RetryableError(f"HTTP {status} from {url}", _retry_after(retry_after))
        if status >= 400:
            text = _error_message(raw.decode("utf-8", "replace"))
            raise RequestFailed(f"HTTP {status} from {url}: {text}{_extension_hint(text, body)}")
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RetryableError(f"malformed JSON from {url}") from exc

    async def _read_capped(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """At most the body limit of the body; False when there was more (never all read)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(READ_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > self._body_limit:
                return b"".join(chunks)[: self._body_limit], False
        return b"".join(chunks), True

    def _body(self, request: Request) -> tuple[str, dict[str, Any]]:
        params = request.params
        body: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": 1,
        }
        if params.top_k > 0:
            body["top_k"] = params.top_k  # vLLM and SGLang take it; hosted APIs ignore or refuse
        seed = request.sample_seed()
        if seed is not None:
            body["seed"] = seed
        if params.stop:
            body["stop"] = list(params.stop)
        if request.prompt is not None and self.spec.endpoint == "completions":
            body["prompt"] = request.prompt
            return "/completions", body
        if request.continue_final and self.spec.continuation == "completions":
            body["prompt"] = self._continued_prompt(request)
            return "/completions", body
        body["messages"] = (
            request.chat()
            if request.messages is not None
            else [{"role": "user", "content": request.prompt}]
        )
        if request.continue_final:
            # vLLM's (and SGLang's) chat extension: render up to the end of the final
            # assistant message and continue it. A server without it would start a new turn:
            # set continuation = "completions" for those.
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return "/chat/completions", body

    def _chat_tokenizer(self) -> Any:
        """The tokenizer whose chat template renders continuations (loaded once)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from pipeline.errors import first_line
            from pipeline.llm.backend import chat_template_text
            from pipeline.llm.models import tokenizer_source

            name = self.spec.tokenizer or self.spec.model
            try:
                tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(name))
            except Exception as exc:
                raise FlamesError(
                    f"continuation = 'completions' renders the chat here and needs the served "
                    f"model's tokenizer, which did not load from '{name}' ({first_line(exc)}): "
                    "set `tokenizer` in the model spec to its folder or Hub id"
                ) from exc
            if self.spec.chat_template:
                tokenizer.chat_template = chat_template_text(self.spec.chat_template)
            if not getattr(tokenizer, "chat_template", None):
                raise FlamesError(
                    f"tokenizer '{name}' has no chat template: set chat_template in the model "
                    "spec (continuation = 'completions' renders the chat here)"
                )
            self._tokenizer = tokenizer
        return self._tokenizer

    def _continued_prompt(self, request: Request) -> str:
        """The chat rendered up to the end of its assistant prefix, with no end-of-turn after
        it (what the transformers backend generates from). When the tokenizer itself adds a
        BOS to what it encodes, the server's will too: the template's own is dropped."""
        tokenizer = self._chat_tokenizer()
        text: str = tokenizer.apply_chat_template(
            request.chat(), tokenize=False, add_generation_prompt=False, continue_final_message=True
        )
        bos, bos_id = (
            getattr(tokenizer, "bos_token", None),
            getattr(tokenizer, "bos_token_id", None),
        )
        adds_bos = bos_id is not None and tokenizer("").input_ids[:1] == [bos_id]
        return text[len(bos) :] if adds_bos and bos and text.startswith(bos) else text

    def close(self) -> None:
        """Close the connections and stop the loop thread."""
        if not self._loop.is_running():
            return
        with contextlib.suppress(Exception):  # best effort: the process may be exiting
            self._call(self._client.close()).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class _Oversized:
    """The start of a body longer than the read limit: its text is salvaged, cut."""

    _VALUE = re.compile(rb'"(content|text)"\s*:\s*"')
    _CLOSING = re.compile(r'(?<!\\)((?:\\\\)*)"')

    def __init__(self, head: bytes, limit: int) -> None:
        self.head = head
        self.limit = limit

    def completion(self, *, chat: bool) -> Completion:
        text = self._text()
        reason = (
            f"reply body over {self.limit:,} bytes: stopped reading, kept the start of its text"
        )
        return Completion(text, "length", None, None, cut_reason=reason)

    def _text(self) -> str:
        found = self._VALUE.search(self.head)
        if found is None:
            return ""
        raw = self.head[found.end() :].decode("utf-8", errors="ignore")
        closing = self._CLOSING.search(raw)
        if closing is not None:
            raw = raw[: closing.end() - 1]
        for trim in range(8):  # drop a cut escape sequence at the end, if any
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads('"' + raw[: len(raw) - trim] + '"')
                return str(value)
        return ""


def _release(gate: asyncio.Semaphore, slots: int) -> None:
    for _ in range(slots):
        gate.release()


def _parse(data: Any, *, chat: bool) -> Completion:
    """A Completion from a response body; anything unexpected is retryable."""
    try:
        choice = data["choices"][0]
        text = (choice["message"].get("content") or "") if chat else choice["text"]
        if not isinstance(text, str):
            raise TypeError("text is not a string")
        usage = data.get("usage") or {}
        return Completion(
            text,
            choice.get("finish_reason"),
            usage.get("prompt_tokens"),
            usage.get("completion_tokens"),
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise RetryableError(f"malformed response body ({type(exc).__name__}: {exc})") from exc


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Full-jitter exponential backoff; a server's Retry-After sets the floor."""
    delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP_S))
    return delay


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# What to change when a server refuses a field only vLLM-style servers take.
_EXTENSION_FIXES = {
    "top_k": "set top_k = 0 in the role's [sampling] (this server does not take top_k)",
    "continue_final_message": (
        'set continuation = "completions" on the model (this server cannot continue a message)'
    ),
}


def _extension_hint(message: str, body: dict[str, Any]) -> str:
    """A fix to append when the server's error names a field it does not take, else ""."""
    for field_name, fix in _EXTENSION_FIXES.items():
        if field_name in body and field_name in message:
            return f": {fix}"
    return ""


def _error_message(text: str) -> str:
    try:
        error = json.loads(text).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:300]
    except (json.JSONDecodeError, AttributeError):
        pass
    return text.strip()[:300] or "(empty body)"


def _probe(base_urls: Sequence[str], api_key: str | None, timeout_s: float) -> list[str]:
    """The models the servers list (first that answers); FlamesError if one cannot be reached.

    A server that answers /models with an error still counts as reachable: some
    OpenAI-compatible servers have no /models. Transient errors are retried, so a flaky
    server does not change which model (and so which cache keys) a run uses.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    timeout = httpx.Timeout(timeout_s, connect=PROBE_TIMEOUT_S)
    served: list[str] = []
    for base in base_urls:
        url = base.rstrip("/") + "/models"
        for attempt in range(PROBE_ATTEMPTS):
            try:
                response = httpx.get(url, headers=headers, timeout=timeout)
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.UnsupportedProtocol,
                httpx.InvalidURL,
            ) as exc:
                raise FlamesError(
                    f"cannot reach server {base} ({type(exc).__name__}); "
                    "is it running, and is the URL right (e.g. http://host:8000/v1)?"
                ) from exc
            except httpx.HTTPError:
                time.sleep(_backoff(attempt, None))
                continue
            if response.status_code in (401, 403):
                raise FlamesError(
                    f"server {base} refused the API key (HTTP {response.status_code})"
                    "; set the env var named by api_key_env"
                )
            if response.status_code in RETRYABLE_STATUS:
                time.sleep(_backoff(attempt, None))
                continue
            listed = _model_ids(response) if response.status_code == 200 else None
            if listed is None and response.status_code == 200:
                time.sleep(_backoff(attempt, None))  # a malformed list: ask again
                continue
            served = served or (listed or [])
            break
    return served


def _model_ids(response: httpx.Response) -> list[str] | None:
    try:
        return [str(m["id"]) for m in response.json()["data"] if "id" in m]
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, TypeError, KeyError):
        return None
