"""The experiment config as typed, frozen dataclasses (validated from TOML by `loader`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipeline.llm.spec import ModelSpec, SamplingParams

# Re-exported: the 12 strategies of SPEC section 2, defined by the strategy library.
from pipeline.strategies import STRATEGY_NAMES as STRATEGY_NAMES
from pipeline.values import FORBID_EXTRA, Bool, Int, Number, Str

BUDGET_MODES: tuple[str, ...] = ("attempts", "kept")


class Policy(StrEnum):
    """The selection policies, one spelling each (config, CLI, TUI, exports, cards).

    Only the names live here, because the config (a lower layer) validates them; what each
    policy keeps and which solution it trains on is `pipeline.selection.policy.RULES`.
    """

    FIRST = "first"  # FLAMES "none/first": every solved problem, its first solution
    STRICT = "strict"  # all sampled answers agree
    MAJORITY = "majority"  # a strict majority answer exists; train on a majority solution
    MAJORITY_FIRST = "majority_first"  # the first solution is in a strict majority
    MAJORITY_OR_FIRST = "majority_or_first"  # every solved problem; majority solution, else first
    REFERENCE_VERIFIED = "reference_verified"  # the majority agrees with the seed's answer
    JUDGE = "judge"  # FLAMES "solvability judge": the judge rates the problem solvable
    JUDGE_REWARD = "judge_reward"  # judge, then the reward model's best of the k solutions


TRAINING_METHODS: tuple[str, ...] = ("sft", "rft", "dpo", "step_dpo")
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp16", "fp32")
RFT_STARTS: tuple[str, ...] = ("base", "sft")
DPO_PAIRINGS: tuple[str, ...] = ("random", "most_similar", "most_different")
STEP_SPLITS: tuple[str, ...] = ("auto", "lines", "sentences")
STEP_VARIANTS: tuple[str, ...] = ("default", "self_explore")
# The FLAMES blend (SPEC section 1): 50% Suggester-Editor, 20% IQC, 20% Taxonomy Key
# Concepts, 10% Distraction Insertion.
FLAMES_BLEND: dict[str, float] = {
    "suggester_editor": 0.5,
    "iqc": 0.2,
    "taxonomy_key_concepts": 0.2,
    "distraction_insertion": 0.1,
}


@dataclass(frozen=True)
class ExperimentInfo:
    __pydantic_config__ = FORBID_EXTRA

    name: Str = "experiment"
    description: Str = ""
    seed: Int = 0  # the experiment's random seed: sampling of seeds and taxonomy nodes


@dataclass(frozen=True)
class SeedSetRef:
    """A seed set by name, and its share of the seeds drawn (ratios are normalised)."""

    __pydantic_config__ = FORBID_EXTRA

    name: str
    ratio: Number = 1.0


@dataclass(frozen=True)
class StrategyConfig:
    """One strategy's switch, budget and params.

    `budget_mode = "attempts"`: `budget` slots are planned and run, whatever survives.
    `budget_mode = "kept"` (fill to target, as the paper's "150K per strategy" means it):
    generation runs in rounds until `budget` problems survive parsing, exact dedup and
    decontamination, or `attempts_cap` slots were tried (default: 4 x budget).
    """

    __pydantic_config__ = FORBID_EXTRA

    enabled: Bool = True
    budget: Int = 0  # problems requested from this strategy (see budget_mode)
    params: dict[str, Any] = field(default_factory=dict)
    budget_mode: Str = "attempts"
    attempts_cap: Int | None = None  # kept mode: most slots tried (default 4 x budget)


@dataclass(frozen=True)
class Models:
    """The four roles of a controlled experiment (SPEC section 1)."""

    __pydantic_config__ = FORBID_EXTRA

    generator: ModelSpec = field(default_factory=ModelSpec)
    teacher: ModelSpec = field(default_factory=ModelSpec)
    judge: ModelSpec = field(default_factory=ModelSpec)
    student: ModelSpec = field(default_factory=ModelSpec)
    # A reward model scoring each teacher solution (`flames reward`, policy judge_reward):
    # openai (a vLLM pooling server) or transformers (a sequence-classification model).
    reward: ModelSpec | None = None


@dataclass(frozen=True)
class Sampling:
    __pydantic_config__ = FORBID_EXTRA

    generator: SamplingParams = field(default_factory=SamplingParams)
    teacher: SamplingParams = field(default_factory=SamplingParams)
    judge: SamplingParams = field(
        default_factory=lambda: SamplingParams(temperature=0.0, max_new_tokens=64)
    )
    # Greedy, 2,048 new tokens: the FLAMES evaluation setting.
    eval: SamplingParams = field(
        default_factory=lambda: SamplingParams(
            temperature=0.0, top_p=1.0, top_k=0, max_new_tokens=2048
        )
    )


@dataclass(frozen=True)
class SolveConfig:
    __pydantic_config__ = FORBID_EXTRA

    k: Int = 3  # teacher solutions sampled per problem


@dataclass(frozen=True)
class FilterConfig:
    """The experiment's selection: the defaults of `pipeline.selection.Selection`.

    Every threshold is a query over stored scores, tunable in the TUI and on every selecting
    command (the same names as flags: `judge_min` is `--judge-min`); an absent threshold is off.
    """

    __pydantic_config__ = FORBID_EXTRA

    policy: Str = Policy.FIRST.value  # one of `Policy`
    judge_min: Number | None = None  # keep a problem whose judge score is >= this
    # drop a problem whose similarity to the closest problem outranking it is >= this
    near_dup_max: Number | None = None
    decontam_max: Number = 0.95  # drop a problem holding >= this share of a benchmark's n-grams
    drop_exact_dups: Bool = True  # exact-match dedup, as in FLAMES
    allow_truncated: Bool = False  # a solution cut at the token limit may be a training target
    honour_marks: Bool = True  # keep/drop marks set by hand in the TUI override the rules
    decontam_against: tuple[Str, ...] = ("gsm8k", "math500")
    ngram: Int = 8


@dataclass(frozen=True)
class BlendConfig:
    __pydantic_config__ = FORBID_EXTRA

    total: Int = 0
    ratios: dict[str, Number] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingConfig:
    """How the student is trained (TRL SFT/DPO through `accelerate launch`; SPEC section 5)."""

    __pydantic_config__ = FORBID_EXTRA

    method: Str = "sft"  # sft | rft | dpo | step_dpo (RFT: SFT on its set; step_dpo: DPO on its)
    lora: Bool = True  # LoRA adapters (peft); false: full fine-tuning
    lora_r: Int = 16
    lora_alpha: Int = 32
    lora_dropout: Number = 0.05
    # peft target modules: "all-linear", or names such as q_proj, v_proj
    lora_target_modules: tuple[Str, ...] = ("all-linear",)
    epochs: Number = 3.0
    max_steps: Int | None = None  # optimizer steps; set, it overrides epochs
    learning_rate: Number = 1e-5
    lr_scheduler: Str = "cosine"  # a transformers scheduler name: linear, cosine, constant, ...
    warmup_ratio: Number = 0.03
    batch_size: Int = 8  # per device
    gradient_accumulation: Int = 1
    max_seq_len: Int = 2048
    gradient_checkpointing: Bool = True  # less memory, ~20% slower
    precision: Str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp16 | fp32
    seed: Int = 42
    beta: Number = 0.1  # DPO: how far the policy may move from the reference
    rft_start: Str = "base"  # RFT: start from the base student, or continue the SFT student
    logging_steps: Int = 1
    checkpoints: Int = 3  # K checkpoints saved evenly over the run (save_steps overrides)
    save_steps: Int | None = None
    # Checkpoint selection (the paper: best of K on GSM8K+MATH). Empty: the last checkpoint.
    select_benchmarks: tuple[Str, ...] = ()
    select_limit: Int | None = None  # items per benchmark when selecting; None: all
    merge: Bool = False  # also write LoRA merged into full weights (OUT/merged)
    # accelerate config: single | multi-gpu | deepspeed-zero3 | fsdp, or a YAML path
    accelerate_config: Str | None = None
    rollouts_k: Int = 5  # per-step DPO: Monte-Carlo rollouts per step prefix


@dataclass(frozen=True)
class DatasetsConfig:
    """Student traces and the RFT, DPO and per-step DPO sets made from them (SPEC section 5).

    K (rollouts per step prefix) is `training.rollouts_k`; where RFT training starts is
    `training.rft_start`.
    """

    __pydantic_config__ = FORBID_EXTRA

    samples: Int = 8  # M: student solutions sampled per training problem
    # Student sampling: T in the paper's 0.7-1.0, its own seed so reruns hit the cache.
    sampling: SamplingParams = field(
        default_factory=lambda: SamplingParams(
            temperature=0.8, top_p=0.95, top_k=0, max_new_tokens=1024, seed=0
        )
    )
    rft_keep: Int = 4  # R: correct, distinct traces kept per problem
    dpo_pairing: Str = "random"  # random | most_similar | most_different
    dpo_pairs: Int = 4  # plain DPO: pairs per problem (one per incorrect trace)
    step_traces: Int = 8  # per-step DPO: incorrect traces per problem rolled out
    # Rollouts: their own seed, so the empty prefix's rollouts are not the traces themselves.
    rollout_sampling: SamplingParams = field(
        default_factory=lambda: SamplingParams(
            temperature=0.7, top_p=0.9, top_k=50, max_new_tokens=512, seed=1
        )
    )
    step_split: Str = "auto"  # auto | lines | sentences
    step_min_chars: Int = 20  # sentences: shorter fragments join a neighbour
    step_max_steps: Int = 9  # sentences: at most this many steps
    all_steps: Bool = False  # value every prefix, not only up to the first pit
    step_variant: Str = "default"  # default | self_explore
    record_format: Str = "messages"  # messages | prompt-completion


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation: benchmarks by registry name (or NAME=SOURCE, path, hf: id) and the prompt."""

    __pydantic_config__ = FORBID_EXTRA

    benchmarks: tuple[Str, ...] = ("gsm8k", "math500")
    limit: Int | None = None  # items per benchmark; None: all
    data_dir: Str | None = None  # benchmark files (else --data-dir / $FLAMES_DATA_DIR)
    # The user turn, with {question}; None: each benchmark's own (the Qwen2.5-Math CoT prompt).
    prompt: Str | None = None
    system: Str | None = None  # an optional system turn
    checkpoint: Str = "last"  # results rows: last | best (best of K; the last is shown too)
    resamples: Int = 2_000  # bootstrap resamples: paired significance, the average's interval


@dataclass(frozen=True)
class ArmConfig:
    """One arm: the base config with `overrides` (dotted keys) applied; differs in one factor."""

    __pydantic_config__ = FORBID_EXTRA

    name: str
    factor: Str | None = None
    baseline: Bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentConfig:
    __pydantic_config__ = FORBID_EXTRA

    experiment: ExperimentInfo = field(default_factory=ExperimentInfo)
    seed_sets: tuple[SeedSetRef, ...] = ()
    strategies: dict[str, StrategyConfig] = field(default_factory=dict)
    models: Models = field(default_factory=Models)
    sampling: Sampling = field(default_factory=Sampling)
    solve: SolveConfig = field(default_factory=SolveConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    blend: BlendConfig = field(default_factory=BlendConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    datasets: DatasetsConfig = field(default_factory=DatasetsConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    arms: tuple[ArmConfig, ...] = ()

    @property
    def name(self) -> str:
        return self.experiment.name

    def enabled_strategies(self) -> dict[str, StrategyConfig]:
        """Strategies switched on with a positive budget, in the paper's order."""
        return {
            name: cfg for name, cfg in self.strategies.items() if cfg.enabled and cfg.budget > 0
        }
