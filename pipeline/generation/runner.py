"""Runs a strategy's stages through the engine for a batch of slots.

A slot is one problem to make: its inputs (seeds or a taxonomy pick), its sample
index and, for multi-problem stages, which item of the reply it takes. Stage by
stage, every live slot's template is rendered, all requests of the stage go to
the engine in one call (identical requests are sent once), each reply is parsed
strictly, and a slot that fails a parse or a check stops with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.seeds.sampling import Seed
from pipeline.strategies.checks import clean_answer
from pipeline.strategies.definition import ACCEPT_UNTAGGED, Stage, Strategy
from pipeline.strategies.parsing import echo_reason, normalise, parse_reply, problem_reason
from pipeline.strategies.template import render
from pipeline.taxonomy import TaxonomyPick


@dataclass(frozen=True)
class Slot:
    """One problem to make; `key` is unique within an experiment and stable across runs."""

    key: str
    seeds: tuple[Seed, ...] = ()
    pick: TaxonomyPick | None = None
    sample_index: int = 0
    item: int = 0

    @property
    def seed(self) -> Seed | None:
        """The primary seed (the first), or None for seedless strategies."""
        return self.seeds[0] if self.seeds else None

    def inputs(self) -> dict[str, Any]:
        """What went into this slot, as JSON-able provenance."""
        data: dict[str, Any] = {"sample_index": self.sample_index, "item": self.item}
        if self.seeds:
            data["seed_ids"] = [s.id for s in self.seeds]
            data["seed_sets"] = [s.seed_set for s in self.seeds]
        if self.pick is not None:
            data["taxonomy"] = {
                "topic": self.pick.topic_id,
                "concepts": [c.id for c in self.pick.concepts],
            }
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
        )
    if strategy.inputs == "seeds":
        variables["examples"] = "\n\n".join(
            f"Problem {i + 1}:\n{s.question}" for i, s in enumerate(slot.seeds)
        )
        variables["k"] = str(len(slot.seeds))
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
    """
    states = [_State(s, initial_variables(strategy, s, params), SlotOutcome(s)) for s in slots]
    one = replace(sampling, n=1)
    untagged = bool(params.get(ACCEPT_UNTAGGED, False))
    for stage, round_ in strategy.schedule(params):
        live = [s for s in states if s.live]
        if not live:
            break
        for state in live:
            state.variables["round"] = str(round_ + 1)
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
    if parsed.reason is None:
        parsed.reason = echo_reason(parsed.sections, template)
    record: dict[str, Any] = {"sections": parsed.sections, "finish_reason": finish_reason}
    if parsed.untagged:
        record["untagged"] = True
    reason = parsed.reason
    if reason is None and stage.multi is not None:
        record["items"] = parsed.items
        record["item"] = state.slot.item
        reason = _item_reason(parsed.items, state.slot.item)
        if reason is None:
            parsed.sections[stage.multi] = parsed.items[state.slot.item]
    record["reason"] = reason
    state.outcome.records.append(StageRecord(stage.name, round_, key, record))
    if reason is not None:
        state.reject(reason)
        return
    for name, value in parsed.sections.items():
        state.variables[name] = value
        state.variables[f"{stage.name}.{name}"] = value
    if "problem" in parsed.sections:
        state.produced = parsed.sections["problem"]


def _item_reason(items: list[str], item: int) -> str | None:
    if item >= len(items):
        return "missing_section:problem"
    if any(normalise(items[item]) == normalise(earlier) for earlier in items[:item]):
        return "duplicate_item"
    return None


def _finish(strategy: Strategy, state: _State) -> SlotOutcome:
    outcome = state.outcome
    outcome.problem = state.produced
    if not state.live:
        return outcome
    for seed in state.slot.seeds:
        reason = problem_reason(state.produced, seed.question)
        if reason is not None:
            state.reject(reason)
            return outcome
    if not state.slot.seeds and (reason := problem_reason(state.produced, None)) is not None:
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
