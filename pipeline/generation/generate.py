"""`flames generate`: run an experiment's strategies through the engine, resumably.

For each enabled strategy: plan its slots (deterministic for the experiment's seed),
skip the slots already stored, run the rest in chunks (every response is cached by
the engine as it arrives, every chunk's problems are written at once) and count
what was produced and why the rest was rejected. With `budget_mode = "kept"` this
repeats in rounds until the budget counts surviving problems (see `budget`). A
strategy with a training stage (QFT) gets its fine-tuned model first (see `qft`). The
generator is loaded only if something is left to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.config import ExperimentConfig, StrategyConfig
from pipeline.errors import ConfigError
from pipeline.experiments.store import experiment_id, load_experiment
from pipeline.generation.budget import (
    RoundReport,
    Survivors,
    attempts_cap,
    contamination_check,
    next_plan,
)
from pipeline.generation.qft import QftTrainer, qft_model
from pipeline.generation.runner import Slot, run_slots
from pipeline.generation.slots import iter_slots
from pipeline.generation.store import store_outcomes, stored_count, stored_slots
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.spec import ModelSpec
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.seeds.sampling import Seed, load_pools
from pipeline.strategies import Strategy, get_strategy
from pipeline.strategies.prompts import current_templates

DEFAULT_CHUNK = 64


@dataclass
class StrategyReport:
    """Per strategy: requested, produced, rejected by reason, failed (retried on rerun).

    In `kept` mode, `target` is the number of surviving problems asked for, `kept` how many
    survive (unique and clean), and `rounds` the yield of each round.
    """

    strategy: str
    requested: int
    produced: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    resumed: int = 0  # slots found already stored when the run started
    mode: str = "attempts"
    target: int | None = None
    kept: int | None = None
    rounds: list[RoundReport] = field(default_factory=list)
    counted: set[str] = field(default_factory=set, repr=False)  # slot keys already counted

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def short(self) -> bool:
        """True when `kept` mode stopped at its attempts cap below the target."""
        return self.target is not None and (self.kept or 0) < self.target


def planned_strategies(config: ExperimentConfig, only: str | None) -> dict[str, StrategyConfig]:
    """The strategy configs to run: all enabled ones, or just `only`."""
    enabled = config.enabled_strategies()
    if only is None:
        if not enabled:
            raise ConfigError(
                f"experiment '{config.name}' has no enabled strategy with a "
                "budget: set [strategies.NAME] budget = N"
            )
        return dict(enabled)
    get_strategy(only)
    if only not in enabled:
        raise ConfigError(
            f"strategy '{only}' is not enabled with a budget in experiment "
            f"'{config.name}' (enabled: {', '.join(enabled) or 'none'})"
        )
    return {only: enabled[only]}


def generate(
    db: Database,
    experiment: str,
    *,
    strategy: str | None = None,
    limit: int | None = None,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Reporter = ignore,
    reparse: bool = False,
    data_dir: str | Path | None = None,
    trainer: QftTrainer | None = None,
    max_attempts: int = 3,
    retry_failed: bool = True,
    config: ExperimentConfig | None = None,
) -> list[StrategyReport]:
    """Generate problems for `experiment`; one report per strategy run.

    Args:
        limit: at most this many problems per strategy in this run (the plan's prefix; in
            `kept` mode, the target is lowered to it).
        backend: the generator to use; default loads the experiment's `models.generator`.
            Given, it also samples from a QFT model (tests, one backend for every role).
        progress: receives `generate <strategy>` events (slots done of planned).
        reparse: run stored slots again too, updating their rows in place: with unchanged
            templates every call comes from the request cache, so this re-applies the
            parsers and checks without generating anything.
        data_dir: where named benchmarks live, for `kept` mode's decontamination count.
        trainer: how QFT fine-tunes its model (default: `pipeline.training`).
        max_attempts, retry_failed: the engine's retry policy for failed requests.
        config: the config to run instead of the stored one (`flames run`: the union of
            every arm's strategies).
    """
    config = config or load_experiment(db, experiment)
    run = _Run(
        db=db,
        config=config,
        experiment_id=experiment_id(db, experiment),
        backend=_Backend(config.models.generator, backend),
        chunk_size=chunk_size,
        progress=progress,
        reparse=reparse,
        data_dir=str(data_dir) if data_dir is not None else None,
        engine_options={"max_attempts": max_attempts, "retry_failed": retry_failed},
    )
    reports: list[StrategyReport] = []
    try:
        for name, cfg in planned_strategies(config, strategy).items():
            definition = get_strategy(name)
            try:
                params = definition.validate_params(cfg.params)
            except ConfigError as exc:
                raise ConfigError(f"experiment '{experiment}': {exc}") from None
            pools = _pools(db, definition.inputs, run.ratios)
            sampler = run.backend
            if any(stage.kind == "train" for stage in definition.stages):
                spec = qft_model(
                    db, config, definition, params, pools, trainer=trainer, progress=run.progress
                )
                sampler = _Backend(spec, backend)
            try:
                if cfg.budget_mode == "kept":
                    report = _fill_to_target(run, definition, cfg, params, pools, sampler, limit)
                else:
                    budget = cfg.budget if limit is None else min(cfg.budget, limit)
                    slots = _slots(run, definition, params, pools, budget)
                    report = StrategyReport(name, budget)
                    report.requested = _run_plan(
                        run, definition, params, slots, sampler, report, total=budget
                    )
            finally:
                if sampler is not run.backend:
                    sampler.close()
            reports.append(report)
    finally:
        run.backend.close()
    return reports


@dataclass
class _Run:
    """What every strategy of one `generate` call shares."""

    db: Database
    config: ExperimentConfig
    experiment_id: int
    backend: _Backend
    chunk_size: int
    progress: Reporter
    reparse: bool
    data_dir: str | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)

    @property
    def ratios(self) -> dict[str, float]:
        return {ref.name: ref.ratio for ref in self.config.seed_sets}


def _slots(
    run: _Run,
    definition: Strategy,
    params: Mapping[str, Any],
    pools: Mapping[str, Sequence[Seed]],
    size: int,
) -> Iterator[Slot]:
    """The first `size` slots of the strategy's plan, made as the run reads them: a big
    budget (the paper's fill-to-target cap is ~600k slots) never sits in memory at once."""
    return iter_slots(
        definition, params, size, pools=pools, ratios=run.ratios, seed=run.config.experiment.seed
    )


def _fill_to_target(
    run: _Run,
    definition: Strategy,
    cfg: StrategyConfig,
    params: Mapping[str, Any],
    pools: Mapping[str, Sequence[Seed]],
    sampler: _Backend,
    limit: int | None,
) -> StrategyReport:
    """Rounds of `_run_plan` over a growing plan until `target` problems survive."""
    target = cfg.budget if limit is None else min(cfg.budget, limit)
    cap = attempts_cap(cfg, target)
    survivors = Survivors(
        run.db, run.experiment_id, definition.name, contamination_check(run.config, run.data_dir)
    )
    report = StrategyReport(definition.name, 0, mode="kept", target=target)
    # Start from what earlier runs planned, so a rerun counts them before planning more.
    planned = min(cap, max(target, stored_count(run.db, run.experiment_id, definition.name)))
    survivors.count()  # problems earlier runs stored
    while True:
        before_parsed, before_kept = survivors.parsed, survivors.kept
        note = f"round {len(report.rounds) + 1}, {before_kept}/{target} kept"
        # The plan is a prefix of one stream, so each round re-reads the slots before it from
        # the store and sends none of them again.
        slots = _slots(run, definition, params, pools, planned)
        tried = _run_plan(run, definition, params, slots, sampler, report, note=note, total=planned)
        fresh = tried - report.requested
        report.requested = tried
        kept = survivors.count()
        report.rounds.append(
            RoundReport(
                round=len(report.rounds) + 1,
                attempts=fresh,
                parsed=survivors.parsed - before_parsed,
                kept=kept - before_kept,
                kept_total=kept,
            )
        )
        run.progress(
            ProgressEvent(
                f"generate {definition.name}",
                min(kept, target),
                target,
                detail=f"round {len(report.rounds)}: {kept}/{target} kept of {tried} tried",
            )
        )
        following = next_plan(target, kept, tried, cap)
        if following <= tried or tried < planned:
            break  # target met, cap hit, or the plan cannot grow (no more inputs)
        planned = following
    report.kept = survivors.kept
    return report


def _run_plan(
    run: _Run,
    definition: Strategy,
    params: Mapping[str, Any],
    slots: Iterable[Slot],
    sampler: _Backend,
    report: StrategyReport,
    *,
    note: str = "",
    total: int | None = None,
) -> int:
    """Run the plan's slots not stored yet (all when re-parsing); count each slot once.

    The plan is read a window at a time, so a lazy plan (`iter_slots`) is never held
    whole; returns how many slots it had. `total`: its length, when `slots` is an iterator.
    """
    if total is None:
        assert isinstance(slots, Sequence), "a lazy plan needs its total"
        total = len(slots)
    size = total
    stage = f"generate {definition.name}"
    templates = current_templates(run.db, definition)
    bodies = {stage_name: t.body for stage_name, t in templates.items()}
    versions = {stage_name: t.version for stage_name, t in templates.items()}
    done = planned = 0
    run.progress(ProgressEvent(stage, done, size, detail=note))
    for window in _windows(slots, PLAN_WINDOW):
        planned += len(window)
        fresh = [s.key for s in window if s.key not in report.counted]
        stored: dict[str, tuple[str, str | None]] = {}
        if not run.reparse:
            stored = stored_slots(run.db, run.experiment_id, fresh)
        for key, (status, reason) in stored.items():
            _count(report, status, reason)
            report.counted.add(key)
            report.resumed += 1
        todo = [s for s in window if s.key not in report.counted]
        done += len(window) - len(todo)
        run.progress(ProgressEvent(stage, done, size, note, failed=report.failed))
        for start in range(0, len(todo), run.chunk_size):
            chunk = todo[start : start + run.chunk_size]
            relay = _Relay(run.progress, stage, done, size, note)
            engine = sampler.engine(run.db, relay.requests, run.engine_options)
            outcomes = run_slots(
                engine,
                definition,
                bodies,
                params,
                run.config.sampling.generator,
                chunk,
                on_stage=relay.stage,
            )
            store_outcomes(
                run.db,
                run.experiment_id,
                definition,
                sampler.model_id,
                dict(params),
                run.config.sampling.generator,
                versions,
                outcomes,
                replace=run.reparse,
            )
            for outcome in outcomes:
                report.counted.add(outcome.slot.key)
                if outcome.status == "failed":
                    report.failed += 1
                else:
                    _count(report, outcome.status, outcome.reason)
            done += len(chunk)
            run.progress(ProgressEvent(stage, done, size, note, failed=report.failed))
    return planned


PLAN_WINDOW = 4_096  # slots looked up and run together: one window of the plan at a time


def _windows(slots: Iterable[Slot], size: int) -> Iterator[list[Slot]]:
    window: list[Slot] = []
    for slot in slots:
        window.append(slot)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def _count(report: StrategyReport, status: str, reason: str | None) -> None:
    if status == "ok":
        report.produced += 1
    else:
        report.rejected[reason or "unknown"] += 1


def _pools(db: Database, inputs: str, ratios: Mapping[str, float]) -> dict[str, list[Seed]]:
    if inputs in ("none", "taxonomy"):
        return {}
    if not ratios:
        raise ConfigError("this experiment has no [[seed_sets]]; add one with a name and ratio")
    return load_pools(db, ratios, require_answer=inputs == "seed_answer")


class _Relay:
    """Passes the engine's request progress on as the strategy's event, naming the stage."""

    def __init__(self, progress: Reporter, stage: str, done: int, total: int, note: str) -> None:
        self.progress, self.name, self.done, self.total = progress, stage, done, total
        self.note = note
        self.current = ""

    def stage(self, stage: str, round_: int) -> None:
        self.current = stage if round_ == 0 else f"{stage} (round {round_ + 1})"
        self._emit("")

    def requests(self, event: ProgressEvent) -> None:
        """An engine event: its request counts and rates become this event's detail."""
        self._emit(f"requests {event.done}/{event.total}  {event.detail}".strip())

    def _emit(self, requests: str) -> None:
        detail = "  ".join(part for part in (self.note, self.current, requests) if part)
        self.progress(ProgressEvent(self.name, self.done, self.total, detail))


class _Backend:
    """Loads a model on first need and closes it at the end (only if it loaded it)."""

    def __init__(self, spec: ModelSpec, given: Backend | None) -> None:
        self.spec = spec
        self.backend = given
        self.owned = False

    @property
    def model_id(self) -> str:
        assert self.backend is not None
        return self.backend.model_id

    def engine(self, db: Database, progress: Reporter, options: Mapping[str, Any]) -> Engine:
        if self.backend is None:
            self.backend = load_backend(self.spec)
            self.owned = True
        return Engine(db, self.backend, progress=progress, **options)

    def close(self) -> None:
        if self.owned and self.backend is not None:
            self.backend.close()
            self.backend = None
            self.owned = False
