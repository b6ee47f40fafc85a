"""Grading model outputs against gold answers, chunk by chunk, beside the engine.

Grading is answer extraction (regular expressions, microseconds an output) and the verifier:
its fast path, then math-verify in the verifier's own worker processes for answers that need
sympy (tens of milliseconds each, MATH-style benchmarks). A long eval grades chunk k on a
thread while the engine generates chunk k+1, so those symbolic checks, which run in other
processes, overlap generation instead of adding to it; a short eval grades inline.
(A grading *process* was measured too: on two busy cores its start-up and the extra process
cost more than they saved, `tests/benchmarks/bench_eval.py`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from pipeline.answers import Verdict, Verifier, extract_answer


@dataclass(frozen=True)
class Graded:
    """One output's extracted answer (None: no answer found), its rule, and the verdict."""

    answer: str | None
    rule: str
    equal: bool | None
    reason: str


def grade_outputs(verifier: Verifier, golds: Sequence[str], outputs: Sequence[str]) -> list[Graded]:
    """Extract each output's final answer and compare it with its gold answer.

    The gold is already a benchmark's final answer (its gold rule ran when it was read),
    so only the model's side is extracted; no answer at all is a wrong answer.
    """
    extracted = [extract_answer(output) for output in outputs]
    asked = [i for i, e in enumerate(extracted) if e.answer is not None]
    verdicts = verifier.compare([(golds[i], extracted[i].answer or "") for i in asked])
    by_index: dict[int, Verdict] = dict(zip(asked, verdicts, strict=True))
    graded = []
    for i, extraction in enumerate(extracted):
        verdict = by_index.get(i) or Verdict(False, "no_answer")
        graded.append(Graded(extraction.answer, extraction.rule, verdict.equal, verdict.reason))
    return graded


class ChunkGrader:
    """Grades chunks of outputs; `submit` returns a future (already done when inline).

    Args:
        background: grade on one worker thread, so the caller can generate the next chunk
            while symbolic checks of this one run in the verifier's processes.
    """

    def __init__(self, *, background: bool) -> None:
        self.verifier = Verifier()
        self._thread = ThreadPoolExecutor(max_workers=1) if background else None

    def submit(self, golds: list[str], outputs: list[str]) -> Future[list[Graded]]:
        if self._thread is not None:
            return self._thread.submit(grade_outputs, self.verifier, golds, outputs)
        done: Future[list[Graded]] = Future()
        done.set_result(grade_outputs(self.verifier, golds, outputs))
        return done

    def close(self) -> None:
        """Stop the worker thread and the verifier's processes."""
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
        self.verifier.close()
