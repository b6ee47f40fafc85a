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
from pipeline.experiments.store import (
    create_experiment,
    experiment_id,
    list_experiments,
    load_experiment,
)
from pipeline.llm.backend import Backend
from pipeline.progress import Overall, ProgressEvent, Reporter, ignore
from pipeline.selection import Selection

STAGES = ("generate", "dedup", "decontaminate", "solve", "select", "blend")


# Told each stage's one-line summary as the stage ends (progress goes to the Reporter).
SummaryCallback = Callable[[str, str], None]


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
    progress: Reporter = ignore,
    on_summary: SummaryCallback | None = None,
    backend: Backend | None = None,
) -> list[str]:
    """Run every stage of experiment `name`; returns one summary line per stage.

    `progress` gets one overall event stream for the whole run (`Overall` over STAGES);
    `on_summary(stage, line)` hears each stage's summary as it ends.
    """
    run = _Run(
        db,
        load_experiment(db, name),
        Overall(progress, STAGES, label="run"),
        Path(out_dir),
        data_dir,
        backend,
    )
    lines: list[str] = []
    for stage in STAGES:
        run.emit(ProgressEvent(stage, 0, None, "starting"))
        summary = _STAGE_FUNCTIONS[stage](run)
        run.emit(ProgressEvent(stage, 1, 1, summary))
        if on_summary is not None:
            on_summary(stage, summary)
        lines.append(f"{stage}: {summary}")
    return lines


@dataclass(frozen=True)
class _Run:
    """What every stage of one run needs."""

    db: Database
    config: ExperimentConfig
    emit: Reporter
    out: Path
    data_dir: str | Path | None
    backend: Backend | None  # one model for every role (tests); None: the configured ones


def _generate(run: _Run) -> str:
    from pipeline.generation.generate import generate, planned_strategies

    # One share of the run's bar, filled strategy by strategy.
    strategies = [f"generate {name}" for name in planned_strategies(run.config, None)]
    reports = generate(
        run.db,
        run.config.name,
        backend=run.backend,
        progress=Overall(run.emit, strategies, label="generate"),
    )
    produced = sum(r.produced for r in reports)
    rejected = sum(r.rejected_total for r in reports)
    failed = sum(r.failed for r in reports)
    return (
        f"{produced} generated, {rejected} rejected by the strategies' checks, {failed} failed "
        f"({', '.join(f'{r.strategy} {r.produced}/{r.requested}' for r in reports)})"
    )


def _dedup(run: _Run) -> str:
    from pipeline.dedup.experiment import dedup_experiment

    threshold = min(run.config.filter.near_dup_max or 0.9, 0.9)  # None: the threshold is off
    summary = dedup_experiment(
        run.db,
        run.config.name,
        threshold,
        progress=run.emit,
    )
    return (
        f"{summary.items} problems, {summary.exact_dups} exact duplicates, "
        f"{summary.pairs} pairs >= {threshold:g}, {summary.clusters} clusters"
    )


def _decontaminate(run: _Run) -> str:
    from pipeline.benchmarks.loading import load_benchmarks
    from pipeline.decontam.contamination import decontaminate_experiment
    from pipeline.decontam.index import NgramIndex

    specs = list(run.config.filter.decontam_against)
    if not specs:
        return "skipped (filter.decontam_against is empty)"
    try:
        items = load_benchmarks(specs, run.data_dir)
    except FlamesError as exc:
        return f"skipped: {exc} (benchmark files are read from --data-dir or $FLAMES_DATA_DIR)"
    index = NgramIndex(items, n=run.config.filter.ngram)
    summary = decontaminate_experiment(
        run.db,
        run.config.name,
        index,
        run.config.filter.decontam_max,
        specs,
        progress=run.emit,
    )
    return (
        f"{summary.contaminated} of {summary.problems} problems overlap "
        f"{', '.join(specs)} at >= {run.config.filter.decontam_max:g}"
    )


def _solve(run: _Run) -> str:
    from pipeline.solving.teacher import solve

    report = solve(
        run.db,
        run.config.name,
        backend=run.backend,
        progress=run.emit,
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


def _select(run: _Run) -> str:
    from pipeline.experiments.store import summary
    from pipeline.selection import kept_dropped

    generated = sum(int(row["problems"] or 0) for row in summary(run.db, run.config.name)["stages"])
    parts = []
    for selection, names in _selections(run.config).items():
        counts = kept_dropped(run.db, run.config.name, selection)
        kept = sum(c.kept for c in counts)
        parts.append(
            f"{kept} of {generated} generated kept by the selection ({', '.join(names)}: "
            f"{selection.describe()})"
        )
    return "; ".join(parts)


def _blend(run: _Run) -> str:
    from pipeline.datasets.blend import blend_command, config_models, examples, export_blend

    if not run.config.blend.ratios or run.config.blend.total <= 0:
        return "skipped (no [blend] ratios and total)"
    run.out.mkdir(parents=True, exist_ok=True)
    path = run.out / f"{run.config.name}-blend.jsonl"
    selection = _selection(run.config)
    ratios = dict(run.config.blend.ratios)
    result = export_blend(
        run.db,
        experiment_id(run.db, run.config.name),
        ratios,
        run.config.blend.total,
        selection,
        path,
        overwrite=True,  # the run's own output: a rerun replaces it
        name=f"{run.config.name}-blend",
        command=blend_command(
            db_path=run.db.conn.execute("PRAGMA database_list").fetchone()[2] or "flames.db",
            experiment=run.config.name,
            ratios=ratios,
            total=run.config.blend.total,
            selection=selection,
            out=path,
            name=f"{run.config.name}-blend",
            force=True,
        ),
        models=config_models(run.config, selection),
    )
    short = [f"{line.strategy} short by {line.short}" for line in result.plan if line.short]
    if result.skipped_truncated:
        short.append(f"{examples(result.skipped_truncated, 'problem')} skipped as truncated")
    return f"wrote {examples(result.total_written)} of {run.config.blend.total} to {path}" + (
        f" ({'; '.join(short)})" if short else ""
    )


def _selection(config: ExperimentConfig) -> Selection:
    """The selection of the experiment's [filter] (exact duplicates dropped, as in FLAMES)."""
    try:
        return Selection.from_config(config.filter)
    except ConfigError as exc:
        raise ConfigError(f"experiment '{config.name}': {exc}") from None


def _selections(config: ExperimentConfig) -> dict[Selection, list[str]]:
    """Each distinct selection of the experiment and its arms, with who uses it."""
    from pipeline.config import arm_config

    found: dict[Selection, list[str]] = {_selection(config): ["base"]}
    for arm in config.arms:
        found.setdefault(_selection(arm_config(config, arm)), []).append(arm.name)
    return found


_STAGE_FUNCTIONS = {
    "generate": _generate,
    "dedup": _dedup,
    "decontaminate": _decontaminate,
    "solve": _solve,
    "select": _select,
    "blend": _blend,
}
