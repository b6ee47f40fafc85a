"""Strategy-layer overhead: `generate` against the bare engine on the same requests.

With an instant scripted backend, the time left is what the strategy library adds
per problem (planning, rendering, parsing, checks, writing problems and stage
outputs) on top of the engine's own cost (hashing, caching, writing requests).
Then fill-to-target (`budget_mode = "kept"`) with a reply stream where every fourth reply
repeats an earlier one: rounds, slots tried per problem kept, and its time against the
attempts-mode run of the same size (the cost of counting survivors: dedup and decontam).
FLAMES_BENCH_STRATEGY_SLOTS sets the size (default 3000).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.experiments.store import create_experiment
from pipeline.generation.generate import generate
from pipeline.llm.backend import Completion
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.seeds import import_seeds
from pipeline.strategies import get_strategy
from pipeline.strategies.definition import Stage
from pipeline.strategies.parsing import parse_reply
from storage.database import open_db

SLOTS = int(os.environ.get("FLAMES_BENCH_STRATEGY_SLOTS", "3000"))


class Repeating:
    """A distraction reply whose every fourth sample repeats the one before (exact dups)."""

    model_id = "repeating"

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        for i, r in enumerate(requests):
            index = r.sample_index - 1 if r.sample_index % 4 == 3 else r.sample_index
            reply = f"<problem>Problem {index}: Mia has {index + 2} marbles. Her cousin owns 3 kites.</problem>"
            yield i, Completion(reply, "stop", 50, 20)

    def close(self) -> None:
        pass


def kept_workspace(folder: Path, target: int) -> tuple[object, str]:
    """A seedless strategy filled to `target` unique clean problems (one small benchmark)."""
    db = open_db(folder / "flames.db")
    bench = folder / "bench.jsonl"
    bench.write_text(
        json.dumps({"question": "An unrelated benchmark question about trains."}) + "\n"
    )
    config = folder / "exp.toml"
    config.write_text(
        f'[experiment]\nname = "kept"\nseed = 1\n'
        f'[strategies.zero_shot_generation]\nbudget = {target}\nbudget_mode = "kept"\n'
        f'params = {{ accept_untagged = true }}\n[filter]\ndecontam_against = ["{bench}"]\n'
    )
    create_experiment(db, "kept", config_path=config)
    return db, "kept"


class Instant:
    """Answers every request at once with a well-formed distraction reply."""

    model_id = "instant"

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        for i, r in enumerate(requests):
            text = (r.messages or (("", ""),))[-1][1]
            seed = text.split("Here is a math problem:\n\n", 1)[-1].split("\n\nAdd ", 1)[0]
            reply = f"<problem>{seed} Her cousin owns 3 red kites and a blue one.</problem>"
            yield i, Completion(reply, "stop", 50, 20)

    def close(self) -> None:
        pass


def workspace(folder: Path, slots: int) -> tuple[object, str]:
    db = open_db(folder / "flames.db")
    seeds = folder / "seeds.jsonl"
    with seeds.open("w") as handle:
        for i in range(slots):
            q = f"Mia has {i + 2} marbles and buys {i % 7 + 1} more. How many marbles now?"
            handle.write(json.dumps({"question": q, "answer": str(i + 2 + i % 7 + 1)}) + "\n")
    import_seeds(db, str(seeds), "bench")
    config = folder / "exp.toml"
    config.write_text(
        f'[experiment]\nname = "bench"\nseed = 1\n[[seed_sets]]\nname = "bench"\nratio = 1.0\n'
        f"[strategies.distraction_insertion]\nbudget = {slots}\n"
    )
    create_experiment(db, "bench", config_path=config)
    return db, "bench"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "a").mkdir()
        (folder / "b").mkdir()
        db, exp = workspace(folder / "a", SLOTS)
        started = time.perf_counter()
        [report] = generate(db, exp, backend=Instant(), chunk_size=256)
        full = time.perf_counter() - started
        assert report.produced == SLOTS, report

        bare_db = open_db(folder / "b" / "flames.db")
        template = "Here is a math problem:\n\n{q}\n\nAdd 2 sentences of detail."
        requests = [
            Request(
                messages=(("user", template.format(q=f"Mia has {i + 2} marbles.")),),
                params=SamplingParams(),
            )
            for i in range(SLOTS)
        ]
        started = time.perf_counter()
        Engine(bare_db, Instant()).run(requests)
        bare = time.perf_counter() - started

        started = time.perf_counter()
        again = generate(db, exp, backend=Instant())
        resumed = time.perf_counter() - started
        assert again[0].resumed == SLOTS

        stage = Stage("write", "", sections=("problem",))
        reply = "Sure.\n<problem>" + "A long problem sentence with 12 numbers. " * 20 + "</problem>"
        started = time.perf_counter()
        for _ in range(SLOTS * 10):
            parse_reply(reply, "stop", stage)
        parse = (time.perf_counter() - started) / (SLOTS * 10)

        (folder / "c").mkdir()
        kept_db, kept_exp = kept_workspace(folder / "c", SLOTS)
        started = time.perf_counter()
        [kept] = generate(kept_db, kept_exp, backend=Repeating(), chunk_size=256)
        filled = time.perf_counter() - started
        assert kept.kept is not None and kept.kept >= SLOTS, kept

    get_strategy("distraction_insertion")
    print(f"slots: {SLOTS} (distraction_insertion, instant backend)")
    print(f"generate:      {full:6.2f} s  {SLOTS / full:8.0f} problems/s")
    print(f"bare engine:   {bare:6.2f} s  {SLOTS / bare:8.0f} requests/s (baseline)")
    print(f"ratio generate/engine: {full / bare:.2f}x")
    print(f"resumed rerun: {resumed:6.2f} s  ({resumed / full:.2f}x of the first run)")
    print(f"parse_reply:   {parse * 1e6:6.1f} us per 1 kB reply")
    rounds = ", ".join(f"{r.attempts} tried/{r.kept} kept" for r in kept.rounds)
    print(
        f"fill to {SLOTS} kept (1 in 4 replies a duplicate): {len(kept.rounds)} rounds "
        f"({rounds}), {kept.requested / (kept.kept or 1):.2f} slots per kept problem, "
        f"{filled:.2f} s ({filled / full:.2f}x the attempts-mode run of {SLOTS})"
    )


if __name__ == "__main__":
    main()
