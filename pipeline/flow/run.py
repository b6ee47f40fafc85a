"""`flames run`: an experiment's stage graph, every arm from seeds to benchmark scores.

generate -> dedup -> decontaminate -> solve run once for all arms; select -> blend ->
dataset -> train -> eval run per arm, shared where arms have the same inputs; the
untrained student is evaluated once as the reference row (see `pipeline.flow.graph`).
Every node is recorded in `flow_stages`, so running again skips what is done and resumes
what was interrupted (see `pipeline.flow.runner`). The TUI launches the same command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from sqlite_utils import Database

from pipeline.config import ExperimentConfig
from pipeline.experiments.store import (
    create_experiment,
    experiment_id,
    list_experiments,
    load_experiment,
)
from pipeline.flow.graph import STAGES, build_graph
from pipeline.flow.runner import FlowReport, NodeOutcome, StageFunction, run_graph
from pipeline.flow.stages import STAGE_FUNCTIONS
from pipeline.llm.backend import Backend
from pipeline.progress import Reporter, ignore

__all__ = ["STAGES", "FlowReport", "NodeOutcome", "ensure_experiment", "run_experiment"]


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
    arms: Iterable[str] | None = None,
    until: str | None = None,
    from_stage: str | None = None,
    out_dir: str | Path = "out",
    data_dir: str | Path | None = None,
    progress: Reporter = ignore,
    on_node: Callable[[NodeOutcome], None] | None = None,
    backend: Backend | None = None,
    stage_functions: Mapping[str, StageFunction] | None = None,
) -> FlowReport:
    """Run the nodes the chosen arms need (default: all), up to `until`, from `from_stage`.

    Outputs (blends, datasets, models) go to `out_dir/NAME/STAGE-KEY/`.
    """
    graph = build_graph(load_experiment(db, name))
    return run_graph(
        db,
        experiment_id(db, name),
        graph,
        stage_functions or STAGE_FUNCTIONS,
        arms=list(arms) if arms else None,
        until=until,
        from_stage=from_stage,
        out=Path(out_dir) / name,
        data_dir=data_dir,
        backend=backend,
        progress=progress,
        on_node=on_node,
    )
