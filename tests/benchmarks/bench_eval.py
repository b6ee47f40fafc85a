"""Evaluation throughput against the bare engine, and grading speed.

1. A loopback OpenAI-compatible server answers every request with a worked GSM8K-style
   solution ending in `\\boxed{N}` (right for 60% of items). Baseline, same process and
   server: the engine alone sending the eval's exact requests (into its own workspace).
   Then `evaluate` on the same items (engine + extraction + verification + storing every
   item). Goal: eval >= 0.9x the engine's rate (grading is never the bottleneck). Rounds
   alternate engine and eval; the wall-clock ratio per round and the CPU-time ratio (this
   process, server threads included: steadier when other work shares the cores) are shown.
2. Grading 10k model outputs (extraction + verification, as `evaluate` does): goal < 5 s.
Sizes: FLAMES_BENCH_EVAL_ITEMS (default 3,000 items), FLAMES_BENCH_EVAL_GRADE (10,000),
FLAMES_BENCH_EVAL_ROUNDS (3).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from pipeline.answers import Verifier, extract_answer
from pipeline.benchmarks import Prompt
from pipeline.evaluation import EVAL_SAMPLING, evaluate
from pipeline.llm.backend import load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec
from storage.database import open_db
from tests.unit.llm_doubles import LoopbackServer

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
ITEMS = int(os.environ.get("FLAMES_BENCH_EVAL_ITEMS", "3000"))
GRADE = int(os.environ.get("FLAMES_BENCH_EVAL_GRADE", "10000"))
ROUNDS = int(os.environ.get("FLAMES_BENCH_EVAL_ROUNDS", "3"))
GOAL_RATIO = 0.9
GOAL_GRADE_S = 5.0


def gsm8k_rows() -> list[tuple[str, str, str]]:
    """(question, gold, worked solution without the `####` line) of GSM8K test."""
    rows = []
    for line in (DATA / "gsm8k" / "test.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        body, _, gold = record["answer"].rpartition("####")
        rows.append((record["question"], gold.strip().replace(",", ""), body.strip()))
    return rows


def output_for(index: int, gold: str, working: str) -> str:
    """A model-like output: the working, then a boxed answer, right for 60% of items."""
    right = zlib.crc32(str(index).encode()) % 10 < 6
    answer = gold if right else f"9{gold.lstrip('-')}"
    return re.sub(r"<<[^>]*>>", "", working) + f"\nThe final answer is $\\boxed{{{answer}}}$."


def build(folder: Path) -> tuple[Path, dict[str, str]]:
    """A benchmark file of ITEMS distinct questions, and the server's reply per prompt."""
    rows = gsm8k_rows()
    prompt = Prompt()
    replies: dict[str, str] = {}
    lines = []
    for index in range(ITEMS):
        question, gold, working = rows[index % len(rows)]
        question = f"(variant {index}) {question}"
        lines.append(json.dumps({"question": question, "answer": f"{working}\n#### {gold}"}))
        replies[prompt.render(question)[-1][1]] = output_for(index, gold, working)
    path = folder / "bench" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, replies


def throughput(folder: Path, rounds: int) -> list[tuple[float, float, float, float]]:
    """Per round: (engine items/s, eval items/s) by the wall clock and by this process's CPU."""
    path, replies = build(folder)

    def reply(body: dict[str, Any]) -> str:
        return replies[body["messages"][-1]["content"]]

    prompt = Prompt()
    questions = [json.loads(line)["question"] for line in path.open()]
    requests = [Request(messages=prompt.render(q), params=EVAL_SAMPLING) for q in questions]
    expected = sum(zlib.crc32(str(i).encode()) % 10 < 6 for i in range(ITEMS))
    figures = []
    with LoopbackServer(responder=reply) as server:
        spec = ModelSpec(backend="openai", model="loopback-model", base_urls=(server.base_url,))
        backend = load_backend(spec)
        for number in range(rounds):
            engine_db = open_db(folder / f"engine{number}.db")
            wall, cpu = time.perf_counter(), time.process_time()
            results = Engine(engine_db, backend).run(requests)
            engine = (time.perf_counter() - wall, time.process_time() - cpu)
            assert all(r.status == "done" and not r.cached for r in results)
            eval_db = open_db(folder / f"eval{number}.db")
            wall, cpu = time.perf_counter(), time.process_time()
            report = evaluate(eval_db, spec, [str(path)], backend=backend)
            evaluated = (time.perf_counter() - wall, time.process_time() - cpu)
            score = report.benchmarks["bench"].score
            assert report.sent == ITEMS and (score.n, score.correct) == (ITEMS, expected)
            figures.append(
                (ITEMS / engine[0], ITEMS / evaluated[0], ITEMS / engine[1], ITEMS / evaluated[1])
            )
        backend.close()
    return figures


def grading_seconds() -> float:
    rows = gsm8k_rows()
    pairs = []
    for index in range(GRADE):
        _, gold, working = rows[index % len(rows)]
        pairs.append((gold, output_for(index, gold, working)))
    with Verifier() as verifier:
        started = time.perf_counter()
        extracted = [extract_answer(output).answer or "" for _, output in pairs]
        verdicts = verifier.compare(
            [(gold, e) for (gold, _), e in zip(pairs, extracted, strict=True)]
        )
        seconds = time.perf_counter() - started
    assert sum(v.equal is True for v in verdicts) == sum(
        zlib.crc32(str(i).encode()) % 10 < 6 for i in range(GRADE)
    )
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = throughput(Path(tmp), ROUNDS)
    wall = [f[1] / f[0] for f in figures]
    cpu = [f[3] / f[2] for f in figures]
    best = max(range(len(figures)), key=lambda i: figures[i][0])
    engine_rate, eval_rate = figures[best][0], figures[best][1]
    print(
        f"engine alone (baseline): {engine_rate:,.0f} requests/s over {ITEMS} requests "
        f"(best of {len(figures)} rounds)"
    )
    print(f"evaluate (engine + grading + items stored): {eval_rate:,.0f} items/s in that round")
    ratio = max(wall)
    print(
        f"eval / engine, wall clock, per round: {', '.join(f'{r:.2f}x' for r in wall)} "
        f"(goal >= {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'} in the best)"
    )
    print(
        "eval / engine, CPU time of this process (steadier on a shared machine): "
        + ", ".join(f"{r:.2f}x" for r in cpu)
    )
    seconds = grading_seconds()
    print(
        f"grading {GRADE:,} outputs (extract + verify): {seconds:.2f} s "
        f"({GRADE / seconds:,.0f}/s; goal < {GOAL_GRADE_S:.0f} s: "
        f"{'met' if seconds < GOAL_GRADE_S else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
