"""TOML -> `ExperimentConfig`, with errors that name the file, the key and the problem."""

from __future__ import annotations

import copy
import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w
from pydantic import TypeAdapter, ValidationError

from pipeline.config.schema import (
    BUDGET_MODES,
    DPO_PAIRINGS,
    PRECISIONS,
    RFT_STARTS,
    STEP_SPLITS,
    STEP_VARIANTS,
    STRATEGY_NAMES,
    TRAINING_METHODS,
    ArmConfig,
    DatasetsConfig,
    ExperimentConfig,
    Policy,
    TrainingConfig,
)
from pipeline.errors import ConfigError
from pipeline.llm.spec import BACKENDS, ModelSpec, SamplingParams
from pipeline.strategies import validate_params
from pipeline.values import (
    MAX_BUDGET,
    MAX_CONCURRENCY,
    MAX_EPOCHS,
    MAX_NEW_TOKENS,
    MAX_RESPONSE_BYTES,
    MAX_RETRIES,
    MAX_SAMPLES,
    MAX_SOLUTIONS,
    MAX_TIMEOUT_S,
    MAX_TOTAL,
    MIN_RESPONSE_BYTES,
    name_problem,
)

T = TypeVar("T")
PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"


def preset_names() -> list[str]:
    """Presets shipped with the package (`quickstart`, `flames-paper`, ...)."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.toml"))


def preset_text(name: str) -> str:
    """The TOML text of a shipped preset (a name, never a path: files go through --config)."""
    if name not in preset_names():
        hint = "; a file is given with --config" if ("/" in name or name.endswith(".toml")) else ""
        raise ConfigError(f"unknown preset '{name}' (presets: {', '.join(preset_names())}){hint}")
    return (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")


def parse_config(
    text: str, *, source: str = "<config>", name: str | None = None
) -> ExperimentConfig:
    """Parse and validate TOML text; `name` (from the command line) overrides the file's."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None
    if name is not None:
        data.setdefault("experiment", {})
        if not isinstance(data["experiment"], dict):
            raise ConfigError(f"{source}: key 'experiment': expected a table")
        data["experiment"]["name"] = name
    try:
        return config_from_data(data, source=source)
    except RecursionError:
        raise ConfigError(f"{source}: a value is nested too deeply to be a config") from None


def load_config_file(path: str | Path, *, name: str | None = None) -> tuple[ExperimentConfig, str]:
    """Read and validate a config file; returns the config and its text."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text; a config is a TOML file") from None
    return parse_config(text, source=str(file), name=name), text


# Keys renamed when the selection got one spelling everywhere: old -> new.
RENAMED_KEYS: dict[str, str] = {
    "filter.max_nn_sim": "filter.near_dup_max",
    "filter.min_judge": "filter.judge_min",
    "filter.max_decontam": "filter.decontam_max",
}


def _check_renamed(data: dict[str, Any], source: str) -> None:
    """A key that was renamed is an error naming its new name (never silently ignored)."""
    tables = [("", data)] + [
        (f"arms[{i}].overrides: ", arm.get("overrides") or {})
        for i, arm in enumerate(data.get("arms") or [])
        if isinstance(arm, dict)
    ]
    for where, table in tables:
        if not isinstance(table, dict):
            continue
        for old, new in RENAMED_KEYS.items():
            section, key = old.split(".")
            inner = table.get(section)
            if old in table or (isinstance(inner, dict) and key in inner):
                raise ConfigError(f"{source}: {where}key '{old}' is now '{new}': rename it")


def config_from_data(data: dict[str, Any], *, source: str = "<config>") -> ExperimentConfig:
    """Validate a parsed TOML document into an `ExperimentConfig`."""
    _check_renamed(data, source)
    config = _build(ExperimentConfig, data, source, "")
    _check(config, source)
    for index, arm in enumerate(config.arms):
        try:
            arm_config(config, arm)
        except ConfigError as exc:
            raise ConfigError(f"{source}: arms[{index}] ({arm.name}): {exc}") from None
    return config


def config_to_data(config: ExperimentConfig) -> dict[str, Any]:
    """The config as plain TOML-able data (None values left out)."""
    data: dict[str, Any] = _strip_none(dataclasses.asdict(config))
    return data


def config_to_toml(config: ExperimentConfig) -> str:
    """The normalised config as TOML text (what `experiment export` writes)."""
    return tomli_w.dumps(config_to_data(config))


def arm_config(config: ExperimentConfig, arm: ArmConfig) -> ExperimentConfig:
    """The config an arm runs with: the base config with the arm's dotted-key overrides."""
    data = config_to_data(config)
    data.pop("arms", None)
    for dotted, value in arm.overrides.items():
        _set_dotted(data, dotted, value)
    built = _build(ExperimentConfig, data, "overrides", "")
    _check(built, "overrides")
    return built


def named_arm_config(
    config: ExperimentConfig, arm: str | None, *, undeclared_is_base: bool = False
) -> ExperimentConfig:
    """The config arm `arm` of `config` runs with (the base config for None).

    An arm the config does not declare is an error naming the arms, except with
    `undeclared_is_base` in an experiment that declares none (its one implicit arm).
    """
    if arm is None:
        return config
    found = next((a for a in config.arms if a.name == arm), None)
    if found is not None:
        return arm_config(config, found)
    if undeclared_is_base and not config.arms:
        return config
    names = ", ".join(a.name for a in config.arms) or "none"
    raise ConfigError(f"experiment '{config.name}' has no arm '{arm}' (arms: {names})")


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    target = data
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"key '{dotted}': '{part}' is not a table")
        target = nxt
    if isinstance(value, dict) and isinstance(target.get(parts[-1]), dict):
        merged = copy.deepcopy(target[parts[-1]])
        merged.update(value)
        target[parts[-1]] = merged
    else:
        target[parts[-1]] = value


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _strip_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_strip_none(item) for item in value]
    return value


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    """A validator for a config dataclass (its tables forbid unknown keys, see pipeline.values)."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def _build(cls: type[T], data: Any, source: str, where: str) -> T:
    """Validate a TOML table into dataclass `cls` (pydantic), errors as one line each."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: key '{where}': expected a table, got {_kind(data)}")
    try:
        built: T = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, cls, data, source, where)) from None
    return built


# pydantic error type -> what the key should hold, in the config's words.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "dataclass_type": "a table",
    "model_type": "a table",
    "tuple_type": "an array",
    "list_type": "an array",
}


def _first_error(
    exc: ValidationError, cls: type[Any], data: dict[str, Any], source: str, where: str
) -> str:
    """`file: key 'a.b': expected ..., got ...` for the first problem pydantic found."""
    error = exc.errors(include_url=False)[0]
    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    key = where
    for part in loc:
        key = f"{key}[{part}]" if isinstance(part, int) else _key(key, str(part))
    kind = error["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"{source}: unknown key '{key}' (known keys here: {_known_keys(cls, loc[:-1])})"
    if kind == "missing" or kind == "missing_argument":
        return f"{source}: missing key '{key}'"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"{source}: key '{key}': expected {expected}, got {_kind(error.get('input'))}"
    return f"{source}: key '{key}': {error['msg']}"


def _is_union_tag(part: Any) -> bool:
    # pydantic names the union member it tried ("int", "none", "function-after[...]").
    return isinstance(part, str) and (
        part in ("int", "float", "str", "bool", "none") or "[" in part
    )


def _known_keys(cls: type[Any], path: list[Any]) -> str:
    """The field names of the table at `path` under dataclass `cls`."""
    current: Any = cls
    for part in path:
        if isinstance(part, int):
            continue
        hints = typing.get_type_hints(current, include_extras=True)
        current = _dataclass_in(hints.get(str(part)))
        if current is None:
            return "?"
    return ", ".join(f.name for f in dataclasses.fields(current))


def _dataclass_in(kind: Any) -> Any:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return kind
    for arg in typing.get_args(kind):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _check(config: ExperimentConfig, source: str) -> None:
    """Checks across fields: names, ranges, choices."""

    def fail(key: str, problem: str) -> None:
        raise ConfigError(f"{source}: key '{key}': {problem}")

    problem = name_problem(config.experiment.name)
    if problem is not None:
        fail("experiment.name", problem)
    for index, ref in enumerate(config.seed_sets):
        if ref.ratio < 0:
            fail(f"seed_sets[{index}].ratio", "must be >= 0")
    if config.seed_sets and sum(ref.ratio for ref in config.seed_sets) <= 0:
        fail("seed_sets", "the ratios must not all be 0")
    for name, strategy in config.strategies.items():
        if name not in STRATEGY_NAMES:
            fail(f"strategies.{name}", f"unknown strategy (known: {', '.join(STRATEGY_NAMES)})")
        if not 0 <= strategy.budget <= MAX_BUDGET:
            fail(f"strategies.{name}.budget", f"must be between 0 and {MAX_BUDGET:,}")
        if strategy.budget_mode not in BUDGET_MODES:
            fail(
                f"strategies.{name}.budget_mode",
                f"unknown mode '{strategy.budget_mode}' (choose from {', '.join(BUDGET_MODES)})",
            )
        if strategy.attempts_cap is not None and strategy.attempts_cap < strategy.budget:
            fail(
                f"strategies.{name}.attempts_cap",
                f"must be at least the budget ({strategy.budget})",
            )
        if strategy.attempts_cap is not None and strategy.attempts_cap > MAX_BUDGET:
            fail(f"strategies.{name}.attempts_cap", f"must be at most {MAX_BUDGET:,}")
        try:
            validate_params(name, strategy.params)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    for role in ("generator", "teacher", "judge", "student"):
        _check_model(getattr(config.models, role), f"models.{role}", fail)
    for role in ("generator", "teacher", "judge", "eval"):
        _check_sampling(getattr(config.sampling, role), f"sampling.{role}", fail)
    if not 1 <= config.solve.k <= MAX_SOLUTIONS:
        fail("solve.k", f"must be between 1 and {MAX_SOLUTIONS:,}")
    if config.filter.policy not in tuple(Policy):
        fail(
            "filter.policy",
            f"unknown policy '{config.filter.policy}' (choose from {', '.join(Policy)})",
        )
    for key in ("judge_min", "near_dup_max", "decontam_max"):
        value = getattr(config.filter, key)
        if value is not None and not 0.0 <= value <= 1.0:
            fail(f"filter.{key}", "must be between 0 and 1 (leave it out to turn it off)")
    if config.models.reward is not None:
        _check_model(config.models.reward, "models.reward", fail)
    elif config.filter.policy == Policy.JUDGE_REWARD:
        fail(
            "models.reward", "filter.policy judge_reward needs a reward model: add [models.reward]"
        )
    if config.filter.ngram < 1:
        fail("filter.ngram", "must be >= 1")
    if not 0 <= config.blend.total <= MAX_TOTAL:
        fail("blend.total", f"must be between 0 and {MAX_TOTAL:,}")
    for name, ratio in config.blend.ratios.items():
        if name not in STRATEGY_NAMES:
            fail(f"blend.ratios.{name}", "unknown strategy")
        if ratio < 0:
            fail(f"blend.ratios.{name}", "must be >= 0")
    if config.training.method not in TRAINING_METHODS:
        fail(
            "training.method",
            f"unknown method '{config.training.method}' "
            f"(choose from {', '.join(TRAINING_METHODS)})",
        )
    _check_training(config.training, fail)
    _check_datasets(config.datasets, fail)
    _check_evaluation(config, fail)
    names = [arm.name for arm in config.arms]
    for name in names:
        if names.count(name) > 1:
            fail("arms", f"arm name '{name}' is used twice")
    if sum(arm.baseline for arm in config.arms) > 1:
        fail("arms", "at most one arm can be the baseline")


def _check_training(training: TrainingConfig, fail: Any) -> None:
    """Ranges of the [training] keys (what TRL and peft would reject later, said now)."""
    for attr in ("lora_r", "lora_alpha", "batch_size", "gradient_accumulation", "max_seq_len"):
        if getattr(training, attr) < 1:
            fail(f"training.{attr}", "must be >= 1")
    for attr in ("logging_steps", "checkpoints"):
        if getattr(training, attr) < 1:
            fail(f"training.{attr}", "must be >= 1")
    for attr in ("max_steps", "save_steps", "select_limit"):
        value = getattr(training, attr)
        if value is not None and value < 1:
            fail(f"training.{attr}", "must be >= 1 (or left out)")
    if not 0.0 <= training.lora_dropout < 1.0:
        fail("training.lora_dropout", "must be in [0, 1)")
    if not training.lora_target_modules or not all(m.strip() for m in training.lora_target_modules):
        fail("training.lora_target_modules", 'name modules, e.g. ["all-linear"] or ["q_proj"]')
    if not 0 < training.epochs <= MAX_EPOCHS:
        fail("training.epochs", f"must be > 0 and at most {MAX_EPOCHS:,}")
    if training.learning_rate <= 0:
        fail("training.learning_rate", "must be > 0")
    if not 0.0 <= training.warmup_ratio < 1.0:
        fail("training.warmup_ratio", "must be in [0, 1)")
    if training.beta <= 0:
        fail("training.beta", "must be > 0")
    if training.precision not in PRECISIONS:
        fail("training.precision", f"choose from {', '.join(PRECISIONS)}")
    if training.rft_start not in RFT_STARTS:
        fail("training.rft_start", f"choose from {', '.join(RFT_STARTS)}")
    if training.accelerate_config is not None and not training.accelerate_config.strip():
        fail("training.accelerate_config", "name a shipped config or a YAML file (or leave out)")


def _check_datasets(datasets: DatasetsConfig, fail: Any) -> None:
    """Ranges and choices of the [datasets] keys."""
    for attr in ("samples", "rft_keep", "dpo_pairs", "step_traces", "step_max_steps"):
        if getattr(datasets, attr) < 1:
            fail(f"datasets.{attr}", "must be >= 1")
    if datasets.step_min_chars < 0:
        fail("datasets.step_min_chars", "must be >= 0")
    for attr, choices in (
        ("dpo_pairing", DPO_PAIRINGS),
        ("step_split", STEP_SPLITS),
        ("step_variant", STEP_VARIANTS),
        ("record_format", ("messages", "prompt-completion")),
    ):
        if getattr(datasets, attr) not in choices:
            fail(f"datasets.{attr}", f"choose from {', '.join(choices)}")
    _check_sampling(datasets.sampling, "datasets.sampling", fail)
    _check_sampling(datasets.rollout_sampling, "datasets.rollout_sampling", fail)


def _check_evaluation(config: ExperimentConfig, fail: Any) -> None:
    evaluation = config.evaluation
    if evaluation.limit is not None and evaluation.limit < 1:
        fail("evaluation.limit", "must be >= 1 (or left out: every item)")
    if evaluation.prompt is not None and "{question}" not in evaluation.prompt:
        fail("evaluation.prompt", "must contain {question}, where the problem goes")
    if evaluation.checkpoint not in ("last", "best"):
        fail("evaluation.checkpoint", "choose from last, best")
    if evaluation.resamples < 100:
        fail("evaluation.resamples", "must be >= 100")
    if not all(name.strip() for name in evaluation.benchmarks):
        fail("evaluation.benchmarks", "names must not be empty")


def _check_model(spec: ModelSpec, key: str, fail: Any) -> None:
    if spec.backend not in BACKENDS:
        fail(
            f"{key}.backend",
            f"unknown backend '{spec.backend}' (choose from {', '.join(BACKENDS)})",
        )
    if not spec.model.strip():
        fail(f"{key}.model", "must name a model (a local path, a Hub id, or the embedded default)")
    if spec.dtype not in ("auto", "float32", "float16", "bfloat16"):
        fail(f"{key}.dtype", "choose from auto, float32, float16, bfloat16")
    for attr in ("max_batch_size", "concurrency", "tensor_parallel_size", "data_parallel_size"):
        if not 1 <= getattr(spec, attr) <= MAX_CONCURRENCY:
            fail(f"{key}.{attr}", f"must be between 1 and {MAX_CONCURRENCY:,}")
    if not 0 < spec.timeout_s <= MAX_TIMEOUT_S:
        fail(f"{key}.timeout_s", f"must be > 0 and at most {MAX_TIMEOUT_S:,.0f} (a day)")
    if not 0 <= spec.max_retries <= MAX_RETRIES:
        fail(f"{key}.max_retries", f"must be between 0 and {MAX_RETRIES}")
    if not MIN_RESPONSE_BYTES <= spec.max_response_bytes <= MAX_RESPONSE_BYTES:
        fail(
            f"{key}.max_response_bytes",
            f"must be between {MIN_RESPONSE_BYTES:,} and {MAX_RESPONSE_BYTES:,}",
        )
    if spec.backend == "openai" and not spec.base_urls:
        fail(f"{key}.base_urls", "the openai backend needs at least one base URL")
    if spec.endpoint not in ("chat", "completions"):
        fail(f"{key}.endpoint", "choose from chat, completions")
    if spec.continuation not in ("chat", "completions"):
        fail(f"{key}.continuation", "choose from chat, completions")


def _check_sampling(params: SamplingParams, key: str, fail: Any) -> None:
    if params.temperature < 0:
        fail(f"{key}.temperature", "must be >= 0")
    if not 0 < params.top_p <= 1:
        fail(f"{key}.top_p", "must be in (0, 1]")
    if params.top_k < 0:
        fail(f"{key}.top_k", "must be >= 0 (0 turns it off)")
    if not 1 <= params.max_new_tokens <= MAX_NEW_TOKENS:
        fail(f"{key}.max_new_tokens", f"must be between 1 and {MAX_NEW_TOKENS:,}")
    if not 1 <= params.n <= MAX_SAMPLES:
        fail(f"{key}.n", f"must be between 1 and {MAX_SAMPLES:,}")
