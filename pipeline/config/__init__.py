"""Experiment configuration: TOML files validated into typed objects, presets, storage."""

from pipeline.config.loader import (
    arm_config,
    config_from_data,
    config_to_data,
    config_to_toml,
    load_config_file,
    named_arm_config,
    parse_config,
    preset_names,
    preset_text,
)
from pipeline.config.schema import (
    FLAMES_BLEND,
    STRATEGY_NAMES,
    ArmConfig,
    ExperimentConfig,
    FilterConfig,
    Policy,
    StrategyConfig,
)

__all__ = [
    "FLAMES_BLEND",
    "STRATEGY_NAMES",
    "ArmConfig",
    "ExperimentConfig",
    "FilterConfig",
    "Policy",
    "StrategyConfig",
    "arm_config",
    "named_arm_config",
    "config_from_data",
    "config_to_data",
    "config_to_toml",
    "load_config_file",
    "parse_config",
    "preset_names",
    "preset_text",
]
