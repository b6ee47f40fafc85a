"""Are two answers equivalent? The one API the product uses: fast path first, then the bounded pool.

`Verifier` holds a symbolic pool (started only when a pair needs it) and answers
batches; `equivalent` and `grade_pairs` are module-level conveniences over a shared one.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipeline.answers.extraction import extract_answer, extract_reference
from pipeline.answers.normalisation import fast_compare
from pipeline.answers.pool import DEFAULT_TIMEOUT_S, SymbolicPool, Task
from pipeline.answers.symbolic import screen

# Extractions a comparison can trust as they are; any other rule hands the symbolic check
# the whole text too (math-verify's own extraction decides).
CERTAIN_GOLD_RULES = frozenset({"boxed", "boxed_set", "hash", "bare", "qualified"})
CERTAIN_PRED_RULES = frozenset({"boxed", "boxed_set", "hash"})


@dataclass(frozen=True)
class Verdict:
    """equal: True / False, or None when it could not be decided (timeout, unparsable gold...)."""

    equal: bool | None
    reason: str

    @property
    def label(self) -> str:
        """The `solutions.verdict` word: correct, incorrect or unverifiable."""
        if self.equal is None:
            return "unverifiable"
        return "correct" if self.equal else "incorrect"


@dataclass(frozen=True)
class Grade:
    """A graded (gold text, pred text) pair: both extractions, their rules, and the verdict."""

    equivalent: bool | None
    reason: str
    gold_extracted: str | None
    gold_rule: str
    pred_extracted: str | None
    pred_rule: str


class Verifier:
    """Decides equivalence of answer pairs; the symbolic pool starts on first need."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        fallback_last_number: bool = True,
    ) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self.fallback_last_number = fallback_last_number
        self._pool: SymbolicPool | None = None
        self._lock = threading.Lock()

    def compare(
        self,
        pairs: Sequence[tuple[str, str]],
        progress: Callable[[int], None] | None = None,
        raw: Sequence[tuple[str | None, str | None]] | None = None,
    ) -> list[Verdict]:
        """A verdict per (gold answer, pred answer), in order; answers are already extracted.

        `raw`: per pair, the whole gold / pred texts where the extraction was not sure of
        itself; a pair the fast path cannot settle is then read by math-verify's own
        extraction. Never raises for one pair: a value nothing can compare is unverifiable.
        """
        verdicts: list[Verdict | None] = [None] * len(pairs)
        symbolic: list[int] = []
        for i, (gold, pred) in enumerate(pairs):
            try:
                equal, reason = fast_compare(gold, pred)
            except Exception as exc:  # noqa: BLE001 - one odd value must not stop a batch
                verdicts[i] = Verdict(None, f"error:{type(exc).__name__}")
                continue
            if reason != "needs_symbolic":
                verdicts[i] = Verdict(equal, reason)
                continue
            refusal = screen(gold) or screen(pred)
            if refusal is not None and (raw is None or raw[i] == (None, None)):
                verdicts[i] = Verdict(None, refusal)  # never worth a worker's time
            else:
                symbolic.append(i)
        if progress is not None and len(pairs) > len(symbolic):
            progress(len(pairs) - len(symbolic))
        if symbolic:
            no_raw: tuple[str | None, str | None] = (None, None)
            tasks: list[Task] = [
                (*pairs[i], *(raw[i] if raw is not None else no_raw)) for i in symbolic
            ]
            with self._lock:
                if self._pool is None:
                    self._pool = SymbolicPool(self.workers, self.timeout_s)
                results = self._pool.map(tasks, progress)
            for i, (equal, reason) in zip(symbolic, results, strict=True):
                verdicts[i] = Verdict(equal, reason)
        return [v if v is not None else Verdict(None, "lost") for v in verdicts]

    def equivalent(self, gold: str, pred: str) -> Verdict:
        """The verdict for one pair of answers."""
        return self.compare([(gold, pred)])[0]

    def grade(
        self,
        pairs: Sequence[tuple[str | None, str | None]],
        progress: Callable[[int], None] | None = None,
    ) -> list[Grade]:
        """Extract both sides (whole outputs or bare answers), then compare.

        Where an extraction is not certain (a gold inside a sentence, a prediction without a
        box or `####`), the symbolic check is given the whole text, for math-verify's own
        extraction, rather than a guess.
        """
        golds = [extract_reference(gold) for gold, _ in pairs]
        preds = [
            extract_answer(pred, fallback_last_number=self.fallback_last_number)
            for _, pred in pairs
        ]
        todo = [
            i
            for i, (g, p) in enumerate(zip(golds, preds, strict=True))
            if g.answer is not None and p.answer is not None
        ]
        raw = [
            (
                pairs[i][0] if golds[i].rule not in CERTAIN_GOLD_RULES else None,
                pairs[i][1] if preds[i].rule not in CERTAIN_PRED_RULES else None,
            )
            for i in todo
        ]
        verdicts = self.compare(
            [(golds[i].answer or "", preds[i].answer or "") for i in todo], progress, raw
        )
        by_index = dict(zip(todo, verdicts, strict=True))
        grades: list[Grade] = []
        for i, (gold, pred) in enumerate(zip(golds, preds, strict=True)):
            verdict = by_index.get(i)
            if verdict is None:
                verdict = (
                    Verdict(None, "no_gold") if gold.answer is None else Verdict(False, "no_answer")
                )
                if progress is not None:
                    progress(1)
            grades.append(
                Grade(verdict.equal, verdict.reason, gold.answer, gold.rule, pred.answer, pred.rule)
            )
        return grades

    def close(self) -> None:
        """Stop the pool's workers, if any were started."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Verifier | None = None


def shared_verifier() -> Verifier:
    """A process-wide verifier (stopped at exit) for callers that compare now and then."""
    global _shared
    if _shared is None:
        _shared = Verifier()
        atexit.register(_shared.close)
    return _shared


def equivalent(gold: str, pred: str) -> Verdict:
    """Are these two answers equivalent? Bounded: never hangs, never executes the input."""
    return shared_verifier().equivalent(gold, pred)


def grade(gold: str | None, pred: str | None) -> Grade:
    """Extract and compare one (gold text, pred text) pair with the shared verifier."""
    return shared_verifier().grade([(gold, pred)])[0]


def grade_pairs(
    pairs: Iterable[tuple[str | None, str | None]],
    *,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    fallback_last_number: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[Grade]:
    """Grade (gold text, pred text) pairs with a pool of `workers` processes (default: all cores)."""
    with Verifier(workers, timeout_s, fallback_last_number=fallback_last_number) as verifier:
        return verifier.grade(list(pairs), progress)
