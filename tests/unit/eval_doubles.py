"""A scripted model for evaluation tests: right or wrong answers planted per benchmark item.

`Plan` decides per item (by a hash of benchmark and index) whether the model answers it
right (`\\boxed{gold}` after some working) or wrong (a different number for numeric golds,
no answer at all otherwise), and knows the accuracy that must come out, per benchmark and
per subset. Identical questions get one answer (the engine sends them once), so a repeated
question with another gold counts as wrong for it: the plan accounts for that itself.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pipeline.benchmarks import LoadedBenchmark, Prompt
from pipeline.llm.backend import Completion
from pipeline.llm.request import Request

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def right_answer(gold: str) -> str:
    return f"Let me work through it.\nSo the final answer is $\\boxed{{{gold}}}$."


def wrong_answer(gold: str) -> str:
    if NUMBER.fullmatch(gold):
        # A 9 in front: another number by far, beyond any tolerance of the grader.
        return f"Let me work through it.\nSo the final answer is $\\boxed{{9{gold.lstrip('-')}}}$."
    return "Sorry, this problem is beyond what I can work out today, I give up here."


@dataclass
class Plan:
    """Planted outputs by prompt content, and the correct counts they must produce."""

    right_share: float = 0.6
    outputs: dict[str, str] = field(default_factory=dict)
    correct: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    by_subset: dict[str, Counter[str]] = field(default_factory=dict)

    def plant(
        self, bench: LoadedBenchmark, limit: int | None = None, prompt: Prompt | None = None
    ) -> None:
        asked = prompt or bench.definition.prompt
        subsets = self.by_subset.setdefault(bench.name, Counter())
        for item in bench.items[:limit] if limit else bench.items:
            gold = item.gold or ""
            content = asked.render(item.text)[-1][1]
            draw = zlib.crc32(f"{bench.name}/{item.index}".encode()) % 1000 / 1000
            planted = right_answer(gold) if draw < self.right_share else wrong_answer(gold)
            output = self.outputs.setdefault(content, planted)
            self.items[bench.name] += 1
            if output == right_answer(gold):
                self.correct[bench.name] += 1
                if item.subset:
                    subsets[item.subset] += 1


class PlantedBackend:
    """Answers each request with the plan's output for its content; counts what it was sent.

    `crash_after`: raise KeyboardInterrupt (a kill) once that many answers were given.
    """

    def __init__(
        self,
        outputs: dict[str, str],
        *,
        model_id: str = "planted-model",
        crash_after: int | None = None,
        batch_size: int = 16,
    ) -> None:
        self.outputs = outputs
        self.model_id = model_id
        self.crash_after = crash_after
        self.batch_size = batch_size
        self.sent: list[Request] = []

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        for index, request in enumerate(requests):
            if self.crash_after is not None and len(self.sent) >= self.crash_after:
                raise KeyboardInterrupt("killed")
            self.sent.append(request)
            assert request.messages is not None
            text = self.outputs[request.messages[-1][1]]
            yield index, Completion(text, "stop", 20, len(text.split()))

    def close(self) -> None:
        pass
