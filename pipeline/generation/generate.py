"""`flames generate`: run an experiment's strategies through the engine, resumably.

For each enabled strategy: plan its slots (deterministic for the experiment's seed),
skip the slots already stored, run the rest in chunks (every response is cached by
the engine as it arrives, every chunk's problems are written at once) and count
what was produced and why the rest was rejected. The model is loaded only if
something is left to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from pipeline.config import ExperimentConfig
from pipeline.errors import ConfigError
from pipeline.experiments.store import experiment_id, load_experiment
from pipeline.generation.runner import run_slots
from pipeline.generation.slots import plan_slots
from pipeline.generation.store import store_outcomes, stored_slots
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.engine import Engine, Progress
from pipeline.seeds.sampling import Seed, load_pools
from pipeline.strategies import get_strategy
from pipeline.strategies.prompts import current_templates

DEFAULT_CHUNK = 64


@dataclass
class StrategyReport:
    """Per strategy: requested, produced, rejected by reason, failed (retried on rerun)."""

    strategy: str
    requested: int
    produced: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    resumed: int = 0  # slots found already stored when the run started

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class GenerationProgress:
    """Where a generation run stands, for progress bars (CLI and TUI)."""

    strategy: str
    slots_done: int
    slots_total: int
    stage: str | None = None
    requests: Progress | None = None


ProgressCallback = Callable[[GenerationProgress], None]


def planned_strategies(config: ExperimentConfig, only: str | None) -> dict[str, Any]:
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
    on_progress: ProgressCallback | None = None,
    reparse: bool = False,
) -> list[StrategyReport]:
    """Generate problems for `experiment`; one report per strategy run.

    Args:
        limit: at most this many problems per strategy in this run (the plan's prefix).
        backend: the generator to use; default loads the experiment's `models.generator`.
        reparse: run stored slots again too, updating their rows in place: with unchanged
            templates every call comes from the request cache, so this re-applies the
            parsers and checks without generating anything.
    """
    config = load_experiment(db, experiment)
    exp_id = experiment_id(db, experiment)
    ratios = {ref.name: ref.ratio for ref in config.seed_sets}
    sampling = config.sampling.generator
    runner = _Backend(config, backend)
    reports: list[StrategyReport] = []
    try:
        for name, cfg in planned_strategies(config, strategy).items():
            definition = get_strategy(name)
            try:
                params = definition.validate_params(cfg.params)
            except ConfigError as exc:
                raise ConfigError(f"experiment '{experiment}': {exc}") from None
            budget = cfg.budget if limit is None else min(cfg.budget, limit)
            pools = _pools(db, definition.inputs, ratios)
            slots = plan_slots(
                definition, params, budget, pools=pools, ratios=ratios, seed=config.experiment.seed
            )
            report = StrategyReport(name, len(slots))
            stored: dict[str, tuple[str, str | None]] = {}
            if not reparse:
                stored = stored_slots(db, exp_id, [s.key for s in slots])
            for status, reason in stored.values():
                _count(report, status, reason)
            report.resumed = len(stored)
            todo = [s for s in slots if s.key not in stored]
            _emit(on_progress, GenerationProgress(name, len(stored), len(slots)))
            templates = current_templates(db, definition)
            bodies = {stage: t.body for stage, t in templates.items()}
            versions = {stage: t.version for stage, t in templates.items()}
            done = len(stored)
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start : start + chunk_size]
                relay = _Relay(on_progress, name, done, len(slots))
                engine = runner.engine(db, relay.requests)
                outcomes = run_slots(
                    engine, definition, bodies, params, sampling, chunk, on_stage=relay.stage
                )
                store_outcomes(
                    db,
                    exp_id,
                    definition,
                    runner.model_id,
                    params,
                    sampling,
                    versions,
                    outcomes,
                    replace=reparse,
                )
                for outcome in outcomes:
                    if outcome.status == "failed":
                        report.failed += 1
                    else:
                        _count(report, outcome.status, outcome.reason)
                done += len(chunk)
                _emit(on_progress, GenerationProgress(name, done, len(slots)))
            reports.append(report)
    finally:
        runner.close()
    return reports


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
    """Passes engine progress on as generation progress, naming the current stage."""

    def __init__(self, callback: ProgressCallback | None, name: str, done: int, total: int):
        self.callback, self.name, self.done, self.total = callback, name, done, total
        self.current: str | None = None

    def stage(self, stage: str, round_: int) -> None:
        self.current = stage if round_ == 0 else f"{stage} (round {round_ + 1})"
        _emit(self.callback, GenerationProgress(self.name, self.done, self.total, self.current))

    def requests(self, progress: Progress) -> None:
        _emit(
            self.callback,
            GenerationProgress(self.name, self.done, self.total, self.current, progress),
        )


def _emit(callback: ProgressCallback | None, event: GenerationProgress) -> None:
    if callback is not None:
        callback(event)


class _Backend:
    """Loads the generator on first need and closes it at the end (only if it loaded it)."""

    def __init__(self, config: ExperimentConfig, given: Backend | None) -> None:
        self.config = config
        self.backend = given
        self.owned = False

    @property
    def model_id(self) -> str:
        assert self.backend is not None
        return self.backend.model_id

    def engine(self, db: Database, on_progress: Callable[[Progress], None]) -> Engine:
        if self.backend is None:
            self.backend = load_backend(self.config.models.generator)
            self.owned = True
        return Engine(db, self.backend, on_progress=on_progress)

    def close(self) -> None:
        if self.owned and self.backend is not None:
            self.backend.close()
