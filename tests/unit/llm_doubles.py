"""Test doubles for the LLM layer: a scripted backend and a loopback OpenAI-style server.

Both answer deterministically (`answer_for`), so tests can check every response.
The server logs every request it receives and every answer it sends, and injects
faults (429, 500, slow answers, malformed JSON) chosen per request by a callable.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.llm.backend import Completion
from pipeline.llm.request import Request


def answer_for(model: str, content: str, sample_index: int = 0, seed: int | None = None) -> str:
    """The text both doubles answer for one request."""
    return f"{model}|{content}|{sample_index}|{seed}"


def content_of(request: Request) -> str:
    """The prompt, or the last message's content."""
    if request.prompt is not None:
        return request.prompt
    assert request.messages is not None
    return request.messages[-1][1]


class ScriptedBackend:
    """A backend double: deterministic answers, scripted failures, an optional crash.

    Args:
        fail: content -> number of first tries that fail (with a RuntimeError).
        crash_after: raise `crash` after this many answers (KeyboardInterrupt: a kill).
        skip: contents the backend never answers (to test a backend that drops rows).
    """

    def __init__(
        self,
        model_id: str = "double",
        *,
        fail: dict[str, int] | None = None,
        crash_after: int | None = None,
        skip: set[str] | None = None,
        batch_size: int = 8,
        crash: type[BaseException] = KeyboardInterrupt,
    ) -> None:
        self.model_id = model_id
        self.batch_size = batch_size
        self.fail = dict(fail or {})
        self.crash_after = crash_after
        self.crash = crash
        self.skip = skip or set()
        self.sent: list[Request] = []
        self.batches: list[int] = []
        self.tries: dict[str, int] = {}
        self.closed = False

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        self.batches.append(len(requests))
        for index in reversed(range(len(requests))):  # out of order, like a real server
            request = requests[index]
            if self.crash_after is not None and len(self.sent) >= self.crash_after:
                raise self.crash("scripted crash")
            self.sent.append(request)
            content = content_of(request)
            if content in self.skip:
                continue
            tries = self.tries.get(content, 0)
            self.tries[content] = tries + 1
            if tries < self.fail.get(content, 0):
                yield index, RuntimeError(f"scripted failure {tries + 1} for {content}")
                continue
            text = answer_for(self.model_id, content, request.sample_index, request.sample_seed())
            yield index, Completion(text, "stop", len(content), len(text.split()))

    def close(self) -> None:
        self.closed = True


@dataclass
class LogEntry:
    """One request the server received, and what it answered."""

    content: str
    path: str
    status: int
    fault: str | None
    at: float
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


# fault(content, how many times this content arrived before) -> None | '429' | '500' |
# 'slow' | 'malformed' | 'nochoices' | '400'
FaultPlan = Callable[[str, int], str | None]


class LoopbackServer:
    """An OpenAI-compatible HTTP/1.1 server on 127.0.0.1, on its own thread and loop."""

    def __init__(
        self,
        *,
        model: str = "loopback-model",
        fault: FaultPlan | None = None,
        delay_s: float = 0.0,
        slow_s: float = 2.0,
        models_status: Sequence[int] = (),
        responder: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.model = model
        # responder(request body) -> the answer text, instead of `answer_for` (scripted models)
        self.responder = responder
        self.fault = fault
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.models_status = list(models_status)  # statuses of the first GET /models; then 200
        self.log: list[LogEntry] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def answered(self) -> list[str]:
        """Contents answered with a good 200, in order (the completed requests)."""
        with self._lock:
            return [e.content for e in self.log if e.status == 200 and e.fault is None]

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        handlers = asyncio.all_tasks(self._loop)
        for task in handlers:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*handlers, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._answer(method, path, body, headers)
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (status, len(payload), payload)
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, method: str, path: str, raw: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if method == "GET" and path.endswith("/models"):
            status = self.models_status.pop(0) if self.models_status else 200
            return status, json.dumps({"data": [{"id": self.model}]}).encode()
        body = json.loads(raw or b"{}")
        chat = path.endswith("/chat/completions")
        content = body["messages"][-1]["content"] if chat else body.get("prompt", "")
        with self._lock:
            seen = self._seen.get(content, 0)
            self._seen[content] = seen + 1
        fault = self.fault(content, seen) if self.fault else None
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status, payload = 200, b""
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
            fault = None  # a slow answer is a good answer, if the client still waits
        if fault in ("429", "500", "400"):
            status = int(fault)
            payload = json.dumps({"error": {"message": f"injected {fault}"}}).encode()
        elif fault == "400-top_k":  # what OpenAI's hosted API says to vLLM's extra fields
            status = 400
            message = "Unrecognized request argument supplied: top_k"
            payload = json.dumps({"error": {"message": message}}).encode()
        elif fault == "malformed":
            payload = b'{"choices": [ {"mess'
        elif fault == "nochoices":
            payload = b'{"object": "chat.completion"}'
        else:
            text = (
                self.responder(body)
                if self.responder is not None
                else answer_for(body["model"], content, 0, body.get("seed"))
            )
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            choice.update(
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            payload = json.dumps(
                {
                    "choices": [choice],
                    "usage": {"prompt_tokens": len(content.split()), "completion_tokens": 3},
                }
            ).encode()
        with self._lock:
            self.log.append(LogEntry(content, path, status, fault, time.monotonic(), body, headers))
        return status, payload
