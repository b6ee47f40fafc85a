"""Runs an experiment's stage graph: each node once, skipped when done under the same key.

A node's key hashes its stage, the config subset it reads and the output digests of its
upstream nodes (a content digest where the stage makes data: the kept problem ids, the
blend file), so editing the config reruns exactly the nodes whose inputs changed, and a
rerun after a kill (or a failure) starts at the first node not done. Each stage is
resumable itself: an interrupted train resumes from its checkpoint, generation from its
request cache. A node that finished with failures (a few failed requests) is done for its
dependents but runs again next time, so the failures are retried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from pipeline.errors import ConfigError, FlamesError
from pipeline.flow.graph import BASE_ARM, STAGES, Graph, Node, digest
from pipeline.llm.backend import Backend
from pipeline.progress import Overall, ProgressEvent, Reporter, ignore
from storage import flow as rows


@dataclass(frozen=True)
class StageResult:
    """What a stage function reports: one summary line, outputs, failures left behind."""

    summary: str
    output: dict[str, Any] = field(default_factory=dict)
    failures: int = 0  # units that failed and are retried by the next run
    digest: str | None = None  # what dependents key on; None: the node's own key


@dataclass(frozen=True)
class StageContext:
    """Everything a stage function gets: the node, its key, its upstream nodes' outputs."""

    db: Database
    experiment_id: int
    node: Node
    key: str
    upstream: Mapping[str, dict[str, Any]]  # upstream stage (+ "sft_train") -> its output
    out: Path  # this experiment's output folder (blends, datasets, models)
    data_dir: str | Path | None
    backend: Backend | None  # one model for every role (tests); None: the configured ones
    progress: Reporter

    @property
    def config(self) -> Any:
        return self.node.config

    @property
    def arm(self) -> str:
        return self.node.arms[0]

    def node_dir(self) -> Path:
        """A folder of this node's own (named by stage and key), created on first use."""
        path = self.out / f"{self.node.stage}-{self.key}"
        path.mkdir(parents=True, exist_ok=True)
        return path


StageFunction = Callable[[StageContext], StageResult]
Status = Literal["done", "reused", "failed", "blocked", "interrupted"]


@dataclass(frozen=True)
class NodeOutcome:
    """How one node ended in this run."""

    node: Node
    status: Status
    key: str | None
    summary: str = ""
    error: str | None = None
    failures: int = 0


@dataclass
class FlowReport:
    """Every node this run looked at, in order."""

    outcomes: list[NodeOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "blocked")]

    @property
    def failures(self) -> int:
        return sum(o.failures for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.failed and self.failures == 0


def select_nodes(
    graph: Graph,
    *,
    arms: Iterable[str] | None = None,
    until: str | None = None,
) -> list[Node]:
    """The nodes to run, in order: those the arms need (default: every arm and the base row),
    up to stage `until`; upstream nodes run before their dependents, earlier stages first."""
    for name, stage in (("--until", until),):
        if stage is not None and stage not in STAGES:
            raise ConfigError(f"{name} {stage}: unknown stage (stages: {', '.join(STAGES)})")
    return _stage_order(graph.needed(arms, until))


def _stage_order(nodes: list[Node]) -> list[Node]:
    """A topological order that runs lower stages first where the graph allows it."""
    position = {n.ident: i for i, n in enumerate(nodes)}
    placed: set[str] = set()
    order: list[Node] = []
    left = list(nodes)
    while left:
        ready = [n for n in left if all(u in placed or u not in position for u in n.upstream)]
        best = min(ready, key=lambda n: (STAGES.index(n.stage), position[n.ident]))
        order.append(best)
        placed.add(best.ident)
        left.remove(best)
    return order


def node_key(node: Node, upstream_digests: list[str]) -> str:
    """The key a node is stored under: its stage, inputs and its upstream outputs."""
    return digest({"stage": node.stage, "inputs": node.inputs, "upstream": upstream_digests})


def run_graph(
    db: Database,
    experiment_id: int,
    graph: Graph,
    stage_functions: Mapping[str, StageFunction],
    *,
    arms: Iterable[str] | None = None,
    until: str | None = None,
    from_stage: str | None = None,
    out: str | Path = "out",
    data_dir: str | Path | None = None,
    backend: Backend | None = None,
    progress: Reporter = ignore,
    on_node: Callable[[NodeOutcome], None] | None = None,
) -> FlowReport:
    """Run the chosen nodes of `graph`; `from_stage` reruns that stage and later ones."""
    if from_stage is not None and from_stage not in STAGES:
        raise ConfigError(f"--from {from_stage}: unknown stage (stages: {', '.join(STAGES)})")
    forced_from = STAGES.index(from_stage) if from_stage is not None else len(STAGES)
    nodes = select_nodes(graph, arms=arms, until=until)
    overall = Overall(progress, [n.label for n in nodes], label="run")
    outputs: dict[str, dict[str, Any]] = {}  # ident -> output of a node done in this run
    report = FlowReport()
    for node in nodes:
        outcome = _run_node(
            db,
            experiment_id,
            graph,
            node,
            stage_functions,
            outputs,
            forced=STAGES.index(node.stage) >= forced_from,
            context=dict(out=Path(out), data_dir=data_dir, backend=backend),
            progress=_relabel(overall, node),
        )
        report.outcomes.append(outcome)
        if on_node is not None:
            on_node(outcome)
        if outcome.status == "interrupted":
            break
    return report


def _run_node(
    db: Database,
    experiment_id: int,
    graph: Graph,
    node: Node,
    stage_functions: Mapping[str, StageFunction],
    outputs: dict[str, dict[str, Any]],
    *,
    forced: bool,
    context: dict[str, Any],
    progress: Reporter,
) -> NodeOutcome:
    upstream = _upstream_outputs(db, experiment_id, graph, node, outputs)
    if upstream is None:
        return NodeOutcome(node, "blocked", None, "waiting for an upstream stage that failed")
    key = node_key(node, [upstream[u]["digest"] for u in node.upstream])
    row = rows.get_node(db, experiment_id, node.stage, key)
    if row is not None and row.status == "done" and not forced and not row.output.get("failures"):
        outputs[node.ident] = row.output
        _map_arms(db, experiment_id, graph, node, row.id)
        return NodeOutcome(node, "reused", key, row.summary or "")
    node_id = rows.start_node(db, experiment_id, node.stage, key, node.inputs)
    _map_arms(db, experiment_id, graph, node, node_id)
    function = stage_functions.get(node.stage)
    if function is None:
        raise ConfigError(f"no stage function for '{node.stage}'")
    ctx = StageContext(
        db=db,
        experiment_id=experiment_id,
        node=node,
        key=key,
        upstream=_by_stage(graph, node, upstream),
        progress=progress,
        **context,
    )
    progress(ProgressEvent(node.stage, 0, None))
    try:
        result = function(ctx)
    except FlamesError as exc:
        rows.finish_node(db, node_id, status="failed", error=str(exc))
        return NodeOutcome(node, "failed", key, error=str(exc))
    except KeyboardInterrupt:
        # Left 'running': the next run finds it not done and resumes it.
        return NodeOutcome(node, "interrupted", key, error="interrupted")
    except Exception as exc:
        rows.finish_node(db, node_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    output = {**result.output, "digest": result.digest or key, "failures": result.failures}
    rows.finish_node(db, node_id, status="done", summary=result.summary, output=output)
    outputs[node.ident] = output
    progress(ProgressEvent(node.stage, 1, 1))
    return NodeOutcome(node, "done", key, result.summary, failures=result.failures)


def _upstream_outputs(
    db: Database,
    experiment_id: int,
    graph: Graph,
    node: Node,
    outputs: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]] | None:
    """Outputs of the node's upstream nodes (done in this run or before), None if one is not."""
    found: dict[str, dict[str, Any]] = {}
    for ident in node.upstream:
        if ident in outputs:
            found[ident] = outputs[ident]
            continue
        # Not run this time (outside --arm/--until): use what an earlier run stored.
        stored = stored_output(db, experiment_id, graph, ident, outputs)
        if stored is None:
            return None
        found[ident] = stored
    return found


def stored_output(
    db: Database,
    experiment_id: int,
    graph: Graph,
    ident: str,
    cache: dict[str, dict[str, Any]],
) -> dict[str, Any] | None:
    """The output a node stored under the key its current upstream gives it, if done."""
    if ident in cache:
        return cache[ident]
    node = graph.nodes[ident]
    digests = []
    for upstream in node.upstream:
        output = stored_output(db, experiment_id, graph, upstream, cache)
        if output is None:
            return None
        digests.append(output["digest"])
    row = rows.get_node(db, experiment_id, node.stage, node_key(node, digests))
    if row is None or row.status != "done":
        return None
    cache[ident] = row.output
    return row.output


def _by_stage(
    graph: Graph, node: Node, upstream: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Upstream outputs by stage name; the SFT student a DPO/RFT arm starts from is `sft_train`."""
    named: dict[str, dict[str, Any]] = {}
    for ident, output in upstream.items():
        stage = graph.nodes[ident].stage
        if stage == "train" and node.stage in ("dataset", "train"):
            stage = "sft_train"
        named[stage] = output
    return named


def _map_arms(db: Database, experiment_id: int, graph: Graph, node: Node, node_id: int) -> None:
    mapping = [
        (arm, node.stage, node_id)
        for arm, stages in graph.arm_stages.items()
        if stages.get(node.stage) == node.ident
    ]
    if mapping:
        rows.map_arm_stages(db, experiment_id, mapping)


def _relabel(overall: Reporter, node: Node) -> Reporter:
    """Events of one node, named by the node (so the job-wide bar knows its share)."""

    def report(event: ProgressEvent) -> None:
        inner = "" if event.stage == node.stage else f"{event.stage}: "
        overall(dataclasses.replace(event, stage=node.label, detail=inner + event.detail))

    return report


__all__ = [
    "BASE_ARM",
    "FlowReport",
    "NodeOutcome",
    "StageContext",
    "StageFunction",
    "StageResult",
    "run_graph",
    "select_nodes",
]
