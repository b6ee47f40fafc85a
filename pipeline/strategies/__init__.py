"""The strategy library: 12 synthesis agents as declarative definitions.

Light to import (no engine, no model): the config imports `STRATEGY_NAMES` and
`validate_params` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.errors import ConfigError
from pipeline.strategies.catalog import STRATEGIES
from pipeline.strategies.definition import Param, Stage, Strategy

STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)

__all__ = [
    "STRATEGIES",
    "STRATEGY_NAMES",
    "Param",
    "Stage",
    "Strategy",
    "get_strategy",
    "validate_params",
]


def get_strategy(name: str) -> Strategy:
    """The strategy called `name`; ConfigError listing the known names otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown strategy '{name}': use one of {', '.join(STRATEGY_NAMES)}"
        ) from None


def validate_params(strategy_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` for `strategy_name` checked against its schema, defaults filled in.

    Raises ConfigError naming the key (`strategies.<name>.params.<key>`).
    """
    return get_strategy(strategy_name).validate_params(params)
