"""An experiment end to end: generate, dedup, decontaminate, solve, select, blend.

Every stage is resumable, so running it again continues where it stopped. This is
what `flames run` (the quickstart) does; the TUI launches the same stages one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from pipeline.config import ExperimentConfig
from pipeline.errors import ConfigError, FlamesError
from pipeline.experiments import create_experiment, experiment_id, list_experiments, load_experiment
from pipeline.selection import make_selection
from pipeline.thresholds import Selection

STAGES = ("generate", "dedup", "decontaminate", "solve", "select", "blend")


@dataclass(frozen=True)
class StageEvent:
    """A stage starting (`summary` None), progressing, or finished (`summary` set)."""

    stage: str
    done: int = 0
    total: int | None = None
    summary: str | None = None


EventCallback = Callable[[StageEvent], None]


def ensure_experiment(db: Database, name: str, preset: str) -> tuple[ExperimentConfig, list[str]]:
    """The experiment `name`, created from `preset` when the workspace does not have it."""
    if name in list_experiments(db):
        return load_experiment(db, name), []
    created = create_experiment(db, name, preset=preset)
    return created.config, [f"created experiment '{name}' from preset {preset}", *created.notes]


def run_experiment(
    db: Database,
    name: str,
    *,
    out_dir: str | Path = "out",
    data_dir: str | Path | None = None,
    on_event: EventCallback | None = None,
) -> list[str]:
    """Run every stage of experiment `name`; returns one summary line per stage."""
    config = load_experiment(db, name)
    emit = on_event or (lambda event: None)
    lines: list[str] = []
    for stage in STAGES:
        emit(StageEvent(stage))
        summary = _STAGE_FUNCTIONS[stage](db, config, emit, Path(out_dir), data_dir)
        emit(StageEvent(stage, summary=summary))
        lines.append(f"{stage}: {summary}")
    return lines


def _generate(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.strategies.generation import generate

    reports = generate(
        db,
        config.name,
        on_progress=lambda e: emit(StageEvent("generate", e.slots_done, e.slots_total)),
    )
    produced = sum(r.produced for r in reports)
    rejected = sum(r.rejected_total for r in reports)
    failed = sum(r.failed for r in reports)
    return (
        f"{produced} problems kept, {rejected} rejected by the parsers, {failed} failed "
        f"({', '.join(f'{r.strategy} {r.produced}/{r.requested}' for r in reports)})"
    )


def _dedup(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.dedup.experiment import dedup_experiment

    threshold = min(config.filter.near_dup_max, 0.9)
    summary = dedup_experiment(
        db,
        config.name,
        threshold,
        progress=lambda step, d, t: emit(StageEvent(f"dedup ({step})", d, t)),
    )
    return (
        f"{summary.items} problems, {summary.exact_dups} exact duplicates, "
        f"{summary.pairs} pairs >= {threshold:g}, {summary.clusters} clusters"
    )


def _decontaminate(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.decontam.benchmark import load_benchmarks
    from pipeline.decontam.contamination import decontaminate_experiment
    from pipeline.decontam.index import NgramIndex

    specs = list(config.filter.decontam_against)
    if not specs:
        return "skipped (filter.decontam_against is empty)"
    try:
        items = load_benchmarks(specs, data_dir)
    except FlamesError as exc:
        return f"skipped: {exc} (benchmark files are read from --data-dir or $FLAMES_DATA_DIR)"
    index = NgramIndex(items, n=config.filter.ngram)
    summary = decontaminate_experiment(
        db,
        config.name,
        index,
        config.filter.decontam_max,
        specs,
        progress=lambda d, t: emit(StageEvent("decontaminate", d, t)),
    )
    return (
        f"{summary.contaminated} of {summary.problems} problems overlap "
        f"{', '.join(specs)} at >= {config.filter.decontam_max:g}"
    )


def _solve(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.solving import solve

    report = solve(
        db, config.name, on_progress=lambda stage, p: emit(StageEvent("solve", p.done, p.total))
    )
    scores = report.scores
    verdicts = (
        f"; {scores.positive} positive, {scores.negative} negative, "
        f"{scores.unverifiable} unverifiable"
        if scores
        else ""
    )
    return (
        f"{report.stored} new solutions for {report.problems} problems "
        f"({report.already} stored before, {report.failed} failed){verdicts}"
    )


def _select(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.selection import kept_dropped

    parts = []
    for policy in dict.fromkeys(
        [
            config.filter.policy,
            *(
                str(arm.overrides.get("filter.policy"))
                for arm in config.arms
                if "filter.policy" in arm.overrides
            ),
        ]
    ):
        counts = kept_dropped(db, config.name, _selection(config, policy))
        kept = sum(c.kept for c in counts)
        total = sum(c.total for c in counts)
        parts.append(f"{policy} keeps {kept}/{total}")
    return "; ".join(parts)


def _blend(
    db: Database,
    config: ExperimentConfig,
    emit: EventCallback,
    out: Path,
    data_dir: str | Path | None,
) -> str:
    from pipeline.blend import export_blend

    if not config.blend.ratios or config.blend.total <= 0:
        return "skipped (no [blend] ratios and total)"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{config.name}-blend.jsonl"
    result = export_blend(
        db,
        experiment_id(db, config.name),
        dict(config.blend.ratios),
        config.blend.total,
        _selection(config, config.filter.policy),
        path,
        name=f"{config.name}-blend",
        command=f"flames run {config.name}",
    )
    short = [f"{line.strategy} short by {line.short}" for line in result.plan if line.short]
    return f"wrote {sum(result.written.values())} of {config.blend.total} examples to {path}" + (
        f" ({'; '.join(short)})" if short else ""
    )


def _selection(config: ExperimentConfig, policy: str) -> Selection:

    f = config.filter
    try:
        return make_selection(
            policy,
            judge_min=f.judge_min,
            max_nn_sim=f.near_dup_max if f.near_dup_max < 1.0 else None,
            max_decontam=f.decontam_max,
        )
    except ConfigError as exc:
        raise ConfigError(f"experiment '{config.name}': {exc}") from None


_STAGE_FUNCTIONS = {
    "generate": _generate,
    "dedup": _dedup,
    "decontaminate": _decontaminate,
    "solve": _solve,
    "select": _select,
    "blend": _blend,
}
