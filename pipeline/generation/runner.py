"""Runs a strategy's stages through the engine for a batch of slots.

A slot is one problem to make: its seed (or taxonomy pick), its sample index, and for
strategies that yield several problems per seed, which one it is (an IQC iteration, an
Ask-Me-Anything number). Stage by stage, every live slot's template is rendered, all
requests of the stage go to the engine in one call (identical requests are sent once, so
the slots of one seed share their common stages), each reply is parsed strictly, and a
slot that fails a parse or a check stops with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.seeds.sampling import Seed
from pipeline.strategies.checks import PRIOR, clean_answer
from pipeline.strategies.definition import ACCEPT_UNTAGGED, Stage, Strategy
from pipeline.strategies.parsing import echo_reason, parse_reply, problem_reason
from pipeline.strategies.template import render
from pipeline.taxonomy import TaxonomyPick


@dataclass(frozen=True)
class Slot:
    """One problem to make; `key` is unique within an experiment and stable across runs.

    `item` tells the slots of one seed apart: the IQC iteration (0-based) whose problem
    this slot keeps, or the index of the Ask-Me-Anything number in `target`.
    """

    key: str
    seed: Seed | None = None
    pick: TaxonomyPick | None = None
    sample_index: int = 0
    item: int = 0
    target: str | None = None  # the number this slot's problem hides (Ask Me Anything)
    iteration: int | None = None  # 1-based IQC iteration this slot keeps

    @property
    def seeds(self) -> tuple[Seed, ...]:
        """The slot's seed as a tuple (empty for seedless strategies)."""
        return (self.seed,) if self.seed is not None else ()

    def inputs(self) -> dict[str, Any]:
        """What went into this slot, as JSON-able provenance."""
        data: dict[str, Any] = {"sample_index": self.sample_index, "item": self.item}
        if self.seed is not None:
            data["seed_ids"] = [self.seed.id]
            data["seed_sets"] = [self.seed.seed_set]
        if self.pick is not None:
            data["taxonomy"] = {
                "topic": self.pick.topic_id,
                "concepts": [c.id for c in self.pick.concepts],
            }
        if self.target is not None:
            data["target"] = self.target
        if self.iteration is not None:
            data["iteration"] = self.iteration
        return data


@dataclass
class StageRecord:
    """One stage (one round) of one slot: the request it made and what was parsed."""

    stage: str
    round: int
    request_key: str | None
    parsed: dict[str, Any]


@dataclass
class SlotOutcome:
    """What a slot became: ok, rejected (with reason) or failed (a request failed)."""

    slot: Slot
    status: Literal["ok", "rejected", "failed"] = "ok"
    problem: str = ""
    reference_answer: str | None = None
    reason: str | None = None
    error: str | None = None
    records: list[StageRecord] = field(default_factory=list)

    @property
    def request_keys(self) -> list[str]:
        """The keys of every request this slot made, in stage order."""
        return [r.request_key for r in self.records if r.request_key is not None]


@dataclass
class _State:
    slot: Slot
    variables: dict[str, str]
    outcome: SlotOutcome
    produced: str = ""  # the latest problem text a stage wrote

    @property
    def live(self) -> bool:
        return self.outcome.status == "ok"

    def reject(self, reason: str) -> None:
        self.outcome.status = "rejected"
        self.outcome.reason = reason


def initial_variables(strategy: Strategy, slot: Slot, params: Mapping[str, Any]) -> dict[str, str]:
    """The variables a slot's first template sees: its inputs and the params as text."""
    variables = {name: _text(value) for name, value in params.items()}
    seed = slot.seed
    if seed is not None:
        variables.update(
            seed_question=seed.question,
            seed_answer=seed.answer or "",
            seed_solution=seed.solution or "",
            problem=seed.question,
            answer=seed.answer or "",
            # A seed without a worked solution shows its answer in the solution's place.
            solution=seed.solution or seed.answer or "",
        )
    if slot.target is not None:
        variables["target"] = slot.target
    if slot.pick is not None:
        pick = slot.pick
        variables.update(
            subject=pick.subject,
            topic=pick.topic,
            level=pick.level.replace("_", " "),
            taxonomy_path=pick.topic_id,
            concepts=", ".join(c.name for c in pick.concepts),
        )
    if "level" in params:
        variables["level"] = str(params["level"]).replace("_", " ")
    return variables


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def run_slots(
    engine: Engine,
    strategy: Strategy,
    templates: Mapping[str, str],
    params: Mapping[str, Any],
    sampling: SamplingParams,
    slots: Sequence[Slot],
    on_stage: Callable[[str, int], None] | None = None,
) -> list[SlotOutcome]:
    """Run every stage of `strategy` for `slots`; one outcome per slot, in order.

    `on_stage(stage, round)` is called as each model stage starts (for progress bars).
    `train` stages are not run here: generation prepares their model before the slots.
    """
    states = [_State(s, initial_variables(strategy, s, params), SlotOutcome(s)) for s in slots]
    one = replace(sampling, n=1)
    untagged = bool(params.get(ACCEPT_UNTAGGED, False))
    for stage, round_ in strategy.schedule(params):
        live = [s for s in states if s.live and _runs(strategy, s.slot, round_)]
        if stage.kind == "train":  # trained before the slots: record which model they use
            for state in live:
                record = {"model": engine.backend.model_id}
                state.outcome.records.append(StageRecord(stage.name, round_, None, record))
            continue
        for state in live:
            state.variables["round"] = str(round_ + 1)
        if not live:
            continue
        if stage.kind == "render":
            for state in live:
                text = render(templates[stage.name], state.variables).strip()
                state.variables[stage.output] = text
                if stage.output == "problem":
                    state.produced = text
                state.outcome.records.append(
                    StageRecord(stage.name, round_, None, {"output": text})
                )
            continue
        if on_stage is not None:
            on_stage(stage.name, round_)
        requests = [
            Request(
                messages=(("user", render(templates[stage.name], s.variables)),),
                params=one,
                sample_index=s.slot.sample_index,
            )
            for s in live
        ]
        for state, result in zip(live, engine.run(requests), strict=True):
            if result.status != "done":
                state.outcome.status = "failed"
                state.outcome.error = result.error or "request failed"
                continue
            _take_reply(
                state,
                stage,
                round_,
                result.key,
                result.text,
                result.finish_reason,
                untagged,
                templates[stage.name],
            )
    return [_finish(strategy, s) for s in states]


def _take_reply(
    state: _State,
    stage: Stage,
    round_: int,
    key: str,
    text: str | None,
    finish_reason: str | None,
    accept_untagged: bool,
    template: str,
) -> None:
    parsed = parse_reply(text, finish_reason, stage, accept_untagged=accept_untagged)
    if parsed.reason is None and not stage.whole_reply:
        parsed.reason = echo_reason(parsed.sections, template)
    record: dict[str, Any] = {"sections": parsed.sections, "finish_reason": finish_reason}
    if parsed.untagged:
        record["untagged"] = True
    reason = parsed.reason
    if reason is None:
        for name, value in parsed.sections.items():
            # What a loop round started from stays visible to this stage's check.
            if name in state.variables:
                state.variables[PRIOR + name] = state.variables[name]
            state.variables[name] = value
            state.variables[f"{stage.name}.{name}"] = value
        if "problem" in parsed.sections:
            state.produced = parsed.sections["problem"]  # stored even if its check rejects it
        if stage.check is not None:
            reason = stage.check(state.variables)
    record["reason"] = reason
    state.outcome.records.append(StageRecord(stage.name, round_, key, record))
    if reason is not None:
        state.reject(reason)


def _runs(strategy: Strategy, slot: Slot, round_: int) -> bool:
    """Whether `slot` takes part in loop round `round_`: an IQC slot stops after its own."""
    return strategy.yields != "each_round" or round_ <= slot.item


def _finish(strategy: Strategy, state: _State) -> SlotOutcome:
    outcome = state.outcome
    outcome.problem = state.produced
    if not state.live:
        return outcome
    seed = state.slot.seed
    reason = problem_reason(state.produced, seed.question if seed is not None else None)
    if reason is not None:
        state.reject(reason)
        return outcome
    if strategy.check is not None and (reason := strategy.check(state.variables)) is not None:
        state.reject(reason)
        return outcome
    if strategy.answer_rule != "none" and strategy.answer_from is not None:
        raw = state.variables.get(strategy.answer_from, "")
        # A kept answer is the seed's, verbatim; a derived one is cleaned of "$" and a final ".".
        answer = raw.strip() if strategy.answer_from == "seed_answer" else clean_answer(raw)
        outcome.reference_answer = answer or None
    return outcome
