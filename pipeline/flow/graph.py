"""The stage graph of an experiment: which stage nodes its arms need, and which they share.

Generation, dedup, decontamination and solving are experiment-wide nodes: they run once
over the union of every arm's strategy plan (an arm's problems are recorded in
`arm_problems` by its select node). Select, blend, dataset, train and eval are per arm and
deduplicated by their inputs: arms that differ only in `filter.policy` share everything up
to select; a data-size ladder shares select and differs from blend on; an RFT, DPO or
per-step DPO arm needs the SFT student trained on its own data first, which an SFT arm on
the same data shares. The untrained student is evaluated once, as the reference row.

A node's identity here is structural (its stage, the config subset it reads, its upstream
nodes). The key it is stored under is computed when it runs, from the same subset and what
its upstream nodes produced (see `pipeline.flow.runner`), so a changed upstream that makes
the same data does not retrain anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import ExperimentConfig, arm_config
from pipeline.errors import ConfigError

STAGES: tuple[str, ...] = (
    "generate",
    "dedup",
    "decontaminate",
    "solve",
    "select",
    "blend",
    "dataset",
    "train",
    "eval",
)
SHARED_STAGES: tuple[str, ...] = STAGES[:4]
ARM_STAGES: tuple[str, ...] = STAGES[4:]
# The row of the untrained student in results and in `flow_arm_stages`.
BASE_ARM = "base"
# The one arm of an experiment that declares none.
DEFAULT_ARM = "default"
# Methods trained from the SFT student of the same data (SPEC section 5).
FROM_SFT_STUDENT = ("rft", "dpo", "step_dpo")
# Near-duplicate signals are stored at this similarity or the arms' lowest threshold below it.
DEDUP_THRESHOLD_CAP = 0.9


@dataclass(frozen=True)
class Node:
    """One stage run with one set of inputs, used by one or more arms."""

    stage: str
    ident: str  # structural identity: stage, inputs and upstream identities
    inputs: dict[str, Any]  # the config subset the stage reads (JSON-able, shown in --plan)
    upstream: tuple[str, ...]  # identities of the nodes whose outputs it reads
    config: ExperimentConfig  # what the stage runs with (the union config, or an arm's)
    arms: tuple[str, ...]  # the arms that use it (first: the one whose config it runs with)
    label: str  # short, for progress and tables: "select first", "train dpo (sft)"


@dataclass
class Graph:
    """Every node of an experiment in run order, and each arm's node per stage."""

    experiment: str
    nodes: dict[str, Node] = field(default_factory=dict)
    arm_stages: dict[str, dict[str, str]] = field(default_factory=dict)  # arm -> stage -> ident
    arm_configs: dict[str, ExperimentConfig] = field(default_factory=dict)

    @property
    def arms(self) -> list[str]:
        """The experiment's arms (the base reference row excluded)."""
        return [arm for arm in self.arm_stages if arm != BASE_ARM]

    def needed(self, arms: Iterable[str] | None = None, until: str | None = None) -> list[Node]:
        """The nodes the given arms (default: all, with the base row) need, in run order.

        With `until`, the arms' own stages up to that one, and whatever those need (a DPO
        arm's dataset needs its SFT student trained first, whatever `until` says).
        """
        chosen = list(self.arm_stages) if arms is None else list(arms)
        unknown = [a for a in chosen if a not in self.arm_stages]
        if unknown:
            raise ConfigError(
                f"experiment '{self.experiment}' has no arm '{unknown[0]}' "
                f"(arms: {', '.join(self.arm_stages)})"
            )
        last = STAGES.index(until) if until is not None else len(STAGES)
        wanted: set[str] = set()
        stack = [
            ident
            for arm in chosen
            for stage, ident in self.arm_stages[arm].items()
            if STAGES.index(stage) <= last
        ]
        while stack:
            ident = stack.pop()
            if ident not in wanted:
                wanted.add(ident)
                stack.extend(self.nodes[ident].upstream)
        return [node for ident, node in self.nodes.items() if ident in wanted]


def digest(value: Any) -> str:
    """A short, stable hash of JSON-able data."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def arm_configs(config: ExperimentConfig) -> dict[str, ExperimentConfig]:
    """Each arm's config (the base config with its overrides); one default arm when none."""
    if not config.arms:
        return {DEFAULT_ARM: config}
    if any(arm.name == BASE_ARM for arm in config.arms):
        raise ConfigError(f"arm name '{BASE_ARM}' is reserved for the untrained student's row")
    return {arm.name: arm_config(config, arm) for arm in config.arms}


def build_graph(config: ExperimentConfig) -> Graph:
    """The stage graph of `config`: shared nodes once, per-arm nodes deduplicated by inputs."""
    configs = arm_configs(config)
    union = shared_config(config, configs)
    graph = Graph(config.name, arm_configs=configs)
    builder = _Builder(graph)
    every = tuple(configs)
    generate = builder.add("generate", generate_inputs(union), (), union, every, "generate")
    dedup = builder.add(
        "dedup", {"threshold": dedup_threshold(configs)}, (generate,), union, every, "dedup"
    )
    decontam = builder.add(
        "decontaminate",
        {
            "against": list(union.filter.decontam_against),
            "ngram": union.filter.ngram,
            "containment": union.filter.decontam_max,
        },
        (generate,),
        union,
        every,
        "decontaminate",
    )
    solve = builder.add("solve", solve_inputs(union, configs), (generate,), union, every, "solve")
    shared = {"generate": generate, "dedup": dedup, "decontaminate": decontam, "solve": solve}
    for arm, cfg in configs.items():
        stages = dict(shared)
        plan = arm_plan(cfg)
        select = builder.add(
            "select",
            {
                "plan": plan,
                # Strategies the arm runs at the shared run's full budget: it owns all of
                # their problems (a fill-to-target round may overshoot the budget).
                "whole": sorted(
                    name for name, budget in plan.items() if budget >= union.strategies[name].budget
                ),
                "filter": _filter_inputs(cfg),
            },
            (generate, dedup, decontam, solve),
            cfg,
            (arm,),
        )
        blend = builder.add("blend", _asdict(cfg.blend), (select,), cfg, (arm,))
        method = cfg.training.method
        upstream_train: tuple[str, ...] = ()
        if method in FROM_SFT_STUDENT:
            sft = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, method="sft"))
            sft_data = builder.add("dataset", dataset_inputs(sft), (blend,), sft, (arm,))
            sft_train = builder.add("train", train_inputs(sft), (sft_data,), sft, (arm,))
            upstream_train = (sft_train,)
        dataset = builder.add("dataset", dataset_inputs(cfg), (blend, *upstream_train), cfg, (arm,))
        train = builder.add("train", train_inputs(cfg), (dataset, *upstream_train), cfg, (arm,))
        # Per arm even when two arms train the same student: an eval is filed under its arm.
        evaluate = builder.add("eval", {**eval_inputs(cfg), "arm": arm}, (train,), cfg, (arm,))
        stages.update(select=select, blend=blend, dataset=dataset, train=train, eval=evaluate)
        graph.arm_stages[arm] = stages
    # The untrained student, once per distinct student model and evaluation setup.
    base_config = configs[_baseline_arm(config, configs)]
    base = builder.add("eval", eval_inputs(base_config, base=True), (), base_config, (BASE_ARM,))
    graph.arm_stages[BASE_ARM] = {"eval": base}
    return graph


class _Builder:
    """Adds nodes, merging a new one into an existing node with the same identity."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def add(
        self,
        stage: str,
        inputs: dict[str, Any],
        upstream: Sequence[str],
        config: ExperimentConfig,
        arms: tuple[str, ...] = (),
        label: str | None = None,
    ) -> str:
        ident = digest({"stage": stage, "inputs": inputs, "upstream": list(upstream)})
        existing = self.graph.nodes.get(ident)
        if existing is not None:
            merged = existing.arms + tuple(a for a in arms if a not in existing.arms)
            self.graph.nodes[ident] = dataclasses.replace(existing, arms=merged)
            return ident
        if label is None:
            method = inputs.get("method") if stage in ("dataset", "train") else None
            label = " ".join([stage, *arms[:1], *([f"({method})"] if method else [])])
        self.graph.nodes[ident] = Node(
            stage, ident, inputs, tuple(upstream), config, arms, label.strip()
        )
        return ident


def _baseline_arm(config: ExperimentConfig, configs: dict[str, ExperimentConfig]) -> str:
    baseline = [arm.name for arm in config.arms if arm.baseline]
    return baseline[0] if baseline else next(iter(configs))


# What the shared stages read, and the settings every arm must agree on.
_MUST_AGREE = (
    ("models.generator", lambda c: _model_inputs(c.models.generator)),
    ("sampling.generator", lambda c: _asdict(c.sampling.generator)),
    ("models.teacher", lambda c: _model_inputs(c.models.teacher)),
    ("sampling.teacher", lambda c: _asdict(c.sampling.teacher)),
    ("solve", lambda c: _asdict(c.solve)),
    ("seed_sets", lambda c: [_asdict(s) for s in c.seed_sets]),
    ("experiment.seed", lambda c: c.experiment.seed),
    ("filter.ngram", lambda c: c.filter.ngram),
    ("filter.decontam_max", lambda c: c.filter.decontam_max),
)


def shared_config(
    config: ExperimentConfig, configs: dict[str, ExperimentConfig]
) -> ExperimentConfig:
    """The config the shared stages run with: every arm's strategies and benchmarks at once.

    A strategy runs at the largest budget any arm gives it (plans are prefixes of one
    another, so each arm's problems are the first slots of the shared plan). Settings the
    shared stages read must be the same in every arm: an arm cannot change the generator
    or the teacher and still share their work, so that is an error here, not a silent mix.
    """
    first_name, first = next(iter(configs.items()))
    for key, read in _MUST_AGREE:
        for name, cfg in configs.items():
            if read(cfg) != read(first):
                raise ConfigError(
                    f"experiment '{config.name}': arms '{first_name}' and '{name}' differ in "
                    f"'{key}', which the shared stages (generate, dedup, decontaminate, solve) "
                    "read: compare such settings in separate experiments"
                )
    strategies: dict[str, Any] = {}
    for name, cfg in configs.items():
        for strategy, settings in cfg.enabled_strategies().items():
            known = strategies.get(strategy)
            if known is not None and known.params != settings.params:
                raise ConfigError(
                    f"experiment '{config.name}': arm '{name}' gives strategy '{strategy}' "
                    "other params than an earlier arm; arms share one generation run, so "
                    "strategy params must be the same in every arm"
                )
            if known is None or settings.budget > known.budget:
                strategies[strategy] = settings
    against = list(
        dict.fromkeys(b for cfg in configs.values() for b in cfg.filter.decontam_against)
    )
    judge_min = [
        cfg.filter.judge_min for cfg in configs.values() if cfg.filter.judge_min is not None
    ]
    return dataclasses.replace(
        first,
        experiment=config.experiment,
        strategies=strategies,
        arms=(),
        filter=dataclasses.replace(
            first.filter,
            decontam_against=tuple(against),
            judge_min=min(judge_min) if judge_min else None,
        ),
    )


def dedup_threshold(configs: dict[str, ExperimentConfig]) -> float:
    """The similarity the dedup stage stores pairs at: the arms' lowest, at most the cap."""
    chosen = [c.filter.near_dup_max for c in configs.values() if c.filter.near_dup_max is not None]
    return min([DEDUP_THRESHOLD_CAP, *chosen])


def arm_plan(config: ExperimentConfig) -> dict[str, int]:
    """An arm's strategies and budgets: which prefix of the shared plan is its own."""
    return {name: s.budget for name, s in config.enabled_strategies().items()}


def generate_inputs(config: ExperimentConfig) -> dict[str, Any]:
    return {
        # every strategy setting (budget, mode, cap, params) changes what is generated
        "strategies": {name: _asdict(s) for name, s in config.enabled_strategies().items()},
        "seed_sets": [_asdict(s) for s in config.seed_sets],
        "seed": config.experiment.seed,
        "generator": _model_inputs(config.models.generator),
        "sampling": _asdict(config.sampling.generator),
    }


def solve_inputs(config: ExperimentConfig, configs: dict[str, ExperimentConfig]) -> dict[str, Any]:
    """Teacher solutions, plus the judge (and reward model) when some arm's selection reads
    its score."""
    from pipeline.selection import needs_judge, needs_reward

    judged = any(needs_judge(c.filter.policy, c.filter.judge_min) for c in configs.values())
    rewarded = [c.models.reward for c in configs.values() if needs_reward(c.filter.policy)]
    return {
        "teacher": _model_inputs(config.models.teacher),
        "sampling": _asdict(config.sampling.teacher),
        "k": config.solve.k,
        "judge": (
            {
                "model": _model_inputs(config.models.judge),
                "sampling": _asdict(config.sampling.judge),
            }
            if judged
            else None
        ),
        # only when asked: the inputs of runs without a reward model keep their digest
        **({"reward": _model_inputs(rewarded[0])} if rewarded and rewarded[0] else {}),
    }


def dataset_inputs(config: ExperimentConfig) -> dict[str, Any]:
    return {
        "method": config.training.method,
        "training": _asdict(config.training),
        # how RFT/DPO/per-step DPO sample, pair and split (unused by an SFT dataset)
        "datasets": _asdict(config.datasets),
    }


def train_inputs(config: ExperimentConfig) -> dict[str, Any]:
    return {
        "method": config.training.method,
        "training": _asdict(config.training),
        "student": _model_inputs(config.models.student),
    }


def eval_inputs(config: ExperimentConfig, *, base: bool = False) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "evaluation": _asdict(config.evaluation),
        "sampling": _asdict(config.sampling.eval),
    }
    if base:
        inputs["student"] = _model_inputs(config.models.student)
    return inputs


def _filter_inputs(config: ExperimentConfig) -> dict[str, Any]:
    data: dict[str, Any] = _asdict(config.filter)
    for shared in ("decontam_against", "ngram"):
        data.pop(shared, None)
    return data


def _model_inputs(spec: Any) -> dict[str, Any]:
    """What about a model changes its outputs (not its batch size or concurrency)."""
    return {"model": spec.model, "chat_template": spec.chat_template}


def _asdict(value: Any) -> Any:
    data = dataclasses.asdict(value)
    return json.loads(json.dumps(data, default=str))
