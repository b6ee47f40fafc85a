"""Monte-Carlo values of a trace's step prefixes and its critical step (Setlur et al. 2024).

For an incorrect trace split into steps y_1..y_L, the value of prefix i (the first i steps)
is estimated from K rollouts that continue it: Q(i) = 1 if any rollout reaches the right
answer (best-of-K), with the success rate kept too. The critical step c is the first
i >= 1 with Q(i) = 0 (the first "pit"); a trace with Q(0) = 0 is skipped (the student cannot
solve the problem at all, so no step is to blame).

Cost: by default prefixes are rolled out in rounds (prefix 0 of every trace, then prefix 1
of the traces still climbing, ...) and a trace stops at its first pit, so it asks for at most
(c + 1) x K requests; `all_steps` rolls out every prefix (for advantage plots), all prefixes
of a trace in one batch after round 0. Each round is one engine call over every active
trace, so the backend batches it (the K rollouts of one prefix are adjacent; vLLM's prefix
cache shares their prompt), and every rollout is a cached request: a killed run resumes
without re-sending anything that finished.

Departure from the paper: prefix 0's rollouts are plain samples of the problem, so traces of
the same problem share them (same request keys); the paper rolls out per trace. Q(0) is a
property of the problem under the student, so sharing changes no estimate and saves
(traces - 1) x K requests per problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlite_utils import Database

from pipeline.answers.verification import Verifier
from pipeline.config.schema import DatasetsConfig
from pipeline.datasets.rewards import Reference, Reward, grade
from pipeline.datasets.steps import SplitRule, Step, prefix_text, resolve_mode, split_steps
from pipeline.datasets.traces import student_messages
from pipeline.llm.backend import Backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.selection.policy import is_truncated
from storage.traces import RolloutRow, StepRow, TraceValues, save_rollouts, save_steps, save_values

CHUNK = 512  # traces valued together: one engine call per round over all of them
# The default rollout sampling ([datasets] rollout_sampling): its own seed, so prefix-0
# rollouts never coincide with the traces themselves.
ROLLOUT_PARAMS: SamplingParams = DatasetsConfig().rollout_sampling


@dataclass(frozen=True)
class RolloutPlan:
    """How prefixes are valued: K rollouts each, their sampling, the split, how far to go."""

    k: int = 5
    params: SamplingParams = ROLLOUT_PARAMS
    split: SplitRule = field(default_factory=SplitRule)
    all_steps: bool = False


@dataclass(frozen=True)
class NegativeTrace:
    """An incorrect trace to value: its problem, text, reference and stored row (if any)."""

    key: str
    question: str
    text: str
    reference: Reference
    trace_id: int | None = None


@dataclass(frozen=True)
class Rollout:
    """One continuation of a prefix; `reward` is None when its request failed."""

    prefix: int
    k: int
    key: str
    text: str | None
    finish_reason: str | None
    reward: Reward | None


@dataclass
class ValuedTrace:
    """A trace's steps, the values of its prefixes so far, and where it stands.

    `status`: pending (more prefixes to roll out), skipped (Q(0) = 0), pit (critical step
    found), no_pit (every prefix valued, none is 0), no_steps (nothing to split), failed
    (a rollout request failed this run; the next run retries it).
    """

    trace: NegativeTrace
    split: str
    steps: list[Step]
    q: list[int] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    rollouts: dict[int, list[Rollout]] = field(default_factory=dict)
    critical_step: int | None = None
    status: str = "pending"
    requests: int = 0  # rollout requests this trace asked for (cached ones included)

    def prefix(self, count: int) -> str:
        """The trace through its first `count` steps."""
        return prefix_text(self.trace.text, self.steps, count)

    def advantages(self) -> list[int]:
        """A(i) = Q(i) - Q(i-1) for the valued steps i >= 1."""
        return [b - a for a, b in zip(self.q, self.q[1:], strict=False)]

    def correct_rollouts(self, prefix: int) -> list[Rollout]:
        """The rollouts of `prefix` that reached the right answer, complete ones first."""
        good = [r for r in self.rollouts.get(prefix, []) if r.reward and r.reward.label == 1]
        return sorted(good, key=lambda r: (is_truncated(r.finish_reason), r.k))

    def _next_prefixes(self, plan: RolloutPlan) -> list[int]:
        if self.status != "pending":
            return []
        last = len(self.steps)
        if not self.q:
            return [0]
        if plan.all_steps:
            return list(range(len(self.q), last + 1))
        return [len(self.q)] if len(self.q) <= last else []

    def _settle(self, prefixes: Sequence[int], plan: RolloutPlan) -> None:
        for i in prefixes:
            rolled = self.rollouts.get(i, [])
            if any(r.reward is None for r in rolled):
                self.status = "failed"
                return
            wins = sum(1 for r in rolled if r.reward is not None and r.reward.label == 1)
            self.q.append(int(wins > 0))
            self.success.append(wins / max(1, len(rolled)))
            if i == 0 and wins == 0:
                self.status = "skipped"
                return
            if i > 0 and wins == 0 and self.critical_step is None:
                self.critical_step = i
                if not plan.all_steps:
                    self.status = "pit"
                    return
        if len(self.q) == len(self.steps) + 1:
            self.status = "pit" if self.critical_step is not None else "no_pit"


@dataclass
class RolloutReport:
    """What valuing did: the traces with their values, and request counts."""

    traces: list[ValuedTrace] = field(default_factory=list)
    requests: int = 0  # rollout requests asked for (cached included; shared ones counted once each)
    failed: int = 0  # rollout requests that failed this run

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for valued in self.traces:
            counts[valued.status] = counts.get(valued.status, 0) + 1
        return counts


def rollout_request(valued: ValuedTrace, prefix: int, plan: RolloutPlan) -> Request:
    """K continuations of the first `prefix` steps (prefix 0: K fresh samples of the problem)."""
    params = replace(plan.params, n=plan.k)
    question = valued.trace.question
    if prefix == 0:
        return Request(messages=student_messages(question), params=params)
    return Request(
        messages=(*student_messages(question), ("assistant", valued.prefix(prefix))),
        params=params,
        continue_final=True,
    )


def start_trace(trace: NegativeTrace, split: SplitRule) -> ValuedTrace:
    """A trace split into steps, nothing valued yet (no steps: status no_steps)."""
    steps = split_steps(trace.text, split)
    valued = ValuedTrace(trace, resolve_mode(trace.text, split), steps)
    if not steps:
        valued.status = "no_steps"
    return valued


def estimate_values(
    db: Database,
    backend: Backend,
    traces: Sequence[NegativeTrace],
    plan: RolloutPlan,
    *,
    verifier: Verifier | None = None,
    progress: Reporter = ignore,
) -> RolloutReport:
    """Value every trace's prefixes through the engine and find its critical step.

    Traces with a stored row (`trace_id`) get their steps, rollouts and values written to
    the workspace as each round and chunk finishes.
    """
    report = RolloutReport()
    own = verifier is None
    verifier = verifier or Verifier()
    try:
        for start in range(0, len(traces), CHUNK):
            chunk = [start_trace(t, plan.split) for t in traces[start : start + CHUNK]]
            _store_steps(db, chunk)
            while wanted := [(v, i) for v in chunk for i in v._next_prefixes(plan)]:
                _round(db, backend, wanted, plan, verifier, report, progress, start, len(traces))
            _store_values(db, chunk, backend.model_id)
            report.traces.extend(chunk)
            progress(
                ProgressEvent(
                    "rollouts",
                    len(report.traces),
                    len(traces),
                    _detail(report),
                    failed=report.failed,
                )
            )
    finally:
        if own:
            verifier.close()
    return report


def _round(
    db: Database,
    backend: Backend,
    wanted: list[tuple[ValuedTrace, int]],
    plan: RolloutPlan,
    verifier: Verifier,
    report: RolloutReport,
    progress: Reporter,
    traces_done: int,
    traces_total: int,
) -> None:
    """One engine call for these (trace, prefix) pairs; grade, record and settle them."""
    requests = [rollout_request(v, i, plan) for v, i in wanted]
    relay = _relay(progress, traces_done, traces_total, max(i for _, i in wanted))
    results = Engine(db, backend, progress=relay).run(requests)
    report.requests += len(results)
    texts, refs, slots = [], [], []
    for n, (valued, prefix) in enumerate(wanted):
        valued.requests += plan.k
        head = valued.prefix(prefix)
        for k in range(plan.k):
            result = results[n * plan.k + k]
            if result.status != "done" or result.text is None:
                report.failed += 1
                valued.rollouts.setdefault(prefix, []).append(
                    Rollout(prefix, k, result.key, None, None, None)
                )
                continue
            texts.append(head + result.text)
            refs.append(valued.trace.reference)
            slots.append((valued, prefix, k, result.key, result.text, result.finish_reason))
    for (valued, prefix, k, key, text, finish), reward in zip(
        slots, grade(verifier, texts, refs), strict=True
    ):
        valued.rollouts.setdefault(prefix, []).append(Rollout(prefix, k, key, text, finish, reward))
    rows = []
    by_trace: dict[int, tuple[ValuedTrace, list[int]]] = {}
    for valued, prefix in wanted:
        by_trace.setdefault(id(valued), (valued, []))[1].append(prefix)
        valued.rollouts[prefix].sort(key=lambda r: r.k)
        if valued.trace.trace_id is not None:
            rows += [_row(valued.trace.trace_id, r) for r in valued.rollouts[prefix]]
    for valued, prefixes in by_trace.values():
        valued._settle(sorted(prefixes), plan)
    save_rollouts(db, rows)


def _row(trace_id: int, rollout: Rollout) -> RolloutRow:
    reward = rollout.reward
    return RolloutRow(
        trace_id,
        rollout.prefix,
        rollout.k,
        rollout.key,
        rollout.finish_reason,
        reward.answer if reward else None,
        reward.verdict if reward else None,
        reward.label if reward else None,
    )


def _store_steps(db: Database, chunk: Sequence[ValuedTrace]) -> None:
    for valued in chunk:
        if valued.trace.trace_id is not None:
            rows = [StepRow(s.index, s.start, s.end, s.text) for s in valued.steps]
            save_steps(db, valued.trace.trace_id, valued.split, rows)


def _store_values(db: Database, chunk: Sequence[ValuedTrace], model: str) -> None:
    save_values(
        db,
        [
            TraceValues(
                v.trace.trace_id,
                v.q,
                v.success,
                v.critical_step,
                "pending" if v.status == "failed" else v.status,
                model,
            )
            for v in chunk
            if v.trace.trace_id is not None
        ],
    )


def _detail(report: RolloutReport) -> str:
    counts = report.status_counts()
    parts = [f"{counts[s]} {s}" for s in ("pit", "no_pit", "skipped", "failed") if counts.get(s)]
    return f"{report.requests} requests" + (f"  {', '.join(parts)}" if parts else "")


def _relay(progress: Reporter, traces_done: int, traces_total: int, prefix: int) -> Reporter:
    """The engine's events for one round, shown as the traces' progress with its detail."""

    def relay(event: ProgressEvent) -> None:
        detail = f"prefix {prefix}: {event.done}/{event.total} requests  {event.detail}"
        progress(
            replace(event, stage="rollouts", done=traces_done, total=traces_total, detail=detail)
        )

    return relay
