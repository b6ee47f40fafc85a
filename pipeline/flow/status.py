"""Where an experiment's stage graph stands, without running anything.

Each node's key is resolved the way the runner would (from its upstream nodes' stored
outputs), so the table says exactly what `flames run` would skip and what it would run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlite_utils import Database

from pipeline.experiments.store import experiment_id as resolve_id
from pipeline.experiments.store import load_experiment
from pipeline.flow.graph import STAGES, Graph, Node, build_graph
from pipeline.flow.runner import node_key, stored_output
from storage import flow as rows

State = Literal["done", "running", "failed", "pending", "waiting"]
# One character per state for the arm x stage table (with a word in the legend: never colour alone).
MARKS: dict[str, str] = {
    "done": "✓",
    "running": "▶",
    "failed": "✗",
    "pending": "·",
    "waiting": "…",
}


# Four letters at most, so nine stages fit in 80 columns.
WORDS: dict[str, str] = {
    "done": "done",
    "running": "run",
    "failed": "fail",
    "pending": "todo",
    "waiting": "wait",
}


@dataclass(frozen=True)
class NodeState:
    """One node of the graph and where it stands."""

    node: Node
    state: State
    key: str | None  # None while an upstream node is not done (the key is not known yet)
    summary: str = ""
    error: str | None = None
    output: dict[str, Any] | None = None
    started_at: str | None = None
    ended_at: str | None = None


@dataclass(frozen=True)
class FlowStatus:
    """Every node's state and each arm's node per stage."""

    experiment: str
    graph: Graph
    states: dict[str, NodeState]  # node ident -> state

    def arm_state(self, arm: str, stage: str) -> NodeState | None:
        ident = self.graph.arm_stages.get(arm, {}).get(stage)
        return None if ident is None else self.states[ident]

    def table(self) -> list[tuple[str, list[str]]]:
        """Rows of (arm, [state of each stage]) for every arm and the base row."""
        result = []
        for arm in self.graph.arm_stages:
            states: list[str] = []
            for stage in STAGES:
                found = self.arm_state(arm, stage)
                states.append("" if found is None else found.state)
            result.append((arm, states))
        return result

    @property
    def complete(self) -> bool:
        return all(s.state == "done" for s in self.states.values())


def flow_status(db: Database, experiment: str) -> FlowStatus:
    """The state of every node of `experiment`'s graph, from what is stored."""
    config = load_experiment(db, experiment)
    exp_id = resolve_id(db, experiment)
    graph = build_graph(config)
    cache: dict[str, dict[str, Any]] = {}
    states: dict[str, NodeState] = {}
    for ident, node in graph.nodes.items():
        digests = []
        for upstream in node.upstream:
            output = stored_output(db, exp_id, graph, upstream, cache)
            if output is None:
                break
            digests.append(output["digest"])
        if len(digests) != len(node.upstream):
            states[ident] = NodeState(node, "waiting", None)
            continue
        key = node_key(node, digests)
        row = rows.get_node(db, exp_id, node.stage, key)
        if row is None:
            states[ident] = NodeState(node, "pending", key)
            continue
        states[ident] = NodeState(
            node,
            row.status,
            key,
            row.summary or "",
            row.error,
            row.output,
            row.started_at,
            row.ended_at,
        )
    return FlowStatus(config.name, graph, states)


# Stage names in six columns (the table fits 80 columns with two arms' names).
SHORT = {"generate": "gen", "decontaminate": "decon", "dataset": "data"}


def status_lines(status: FlowStatus) -> list[str]:
    """The arm x stage table as text (what `flames run --plan` prints)."""
    width = max([len(arm) for arm in status.graph.arm_stages] + [4])
    lines = [f"{'arm':<{width}} " + " ".join(f"{SHORT.get(s, s)[:6]:<6}" for s in STAGES)]
    for arm, states in status.table():
        cells = [f"{MARKS[s]} {WORDS[s]}" if s else "" for s in states]
        lines.append(f"{arm:<{width}} " + " ".join(f"{c:<6}" for c in cells).rstrip())
    return [*lines, "(✓ done, ▶ running, ✗ failed, · to do, … waits for an earlier stage)"]
