"""Engine overhead: requests/s through the engine against an instant loopback server.

Baseline, same process: the OpenAI backend alone (no engine, no database). Then the
engine sending every request (keys, pending rows, one small write per answer) and
the engine answering everything from the cache. Goal: >= 500 requests/s sent through
the engine here, so the engine never limits a vLLM server.
FLAMES_BENCH_ENGINE_REQUESTS sets the size (default 4,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pipeline.llm.backend import load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec, SamplingParams
from storage.database import open_db
from tests.unit.llm_doubles import LoopbackServer

REQUESTS = int(os.environ.get("FLAMES_BENCH_ENGINE_REQUESTS", "4000"))
GOAL = 500.0


def batch(tag: str, count: int) -> list[Request]:
    params = SamplingParams(max_new_tokens=64, seed=1)
    return [
        Request(messages=(("user", f"{tag} problem {i}: what is {i} + {i}?"),), params=params)
        for i in range(count)
    ]


def main() -> None:
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        backend = load_backend(
            ModelSpec(backend="openai", base_urls=(server.base_url,), concurrency=64)
        )
        started = time.perf_counter()
        answered = sum(1 for _ in backend.generate(batch("raw", REQUESTS)))
        raw = answered / (time.perf_counter() - started)

        db = open_db(Path(tmp) / "bench.db")
        requests = batch("engine", REQUESTS)
        started = time.perf_counter()
        results = Engine(db, backend).run(requests)
        sent = len(results) / (time.perf_counter() - started)
        assert all(r.status == "done" and not r.cached for r in results)

        started = time.perf_counter()
        cached = Engine(db, backend).run(requests)
        hits = len(cached) / (time.perf_counter() - started)
        assert all(r.cached for r in cached)
        backend.close()
    print(f"backend alone (baseline): {raw:,.0f} requests/s over {REQUESTS} requests")
    print(
        f"engine sending:           {sent:,.0f} requests/s "
        f"({sent / raw:.2f}x the baseline; goal >= {GOAL:.0f}/s: "
        f"{'met' if sent >= GOAL else 'NOT met'})"
    )
    print(f"engine from cache:        {hits:,.0f} requests/s ({hits / raw:.1f}x the baseline)")


if __name__ == "__main__":
    main()
