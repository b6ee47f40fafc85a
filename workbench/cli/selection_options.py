"""The selection options every selecting command takes, built from the `Selection` fields.

`flames filter`, `flames blend` and `flames export sft` get the same flags from this one
definition: `--policy`, one flag per threshold (`--judge-min 0.5`, `--near-dup-max off`) and
per switch (`--drop-exact-dups/--no-drop-exact-dups`), plus `--arm`. A flag not given takes
the experiment's (or the arm's) `[filter]` config, so a bare command selects what the config
says and what `flames run` selected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlite_utils import Database

from pipeline.selection import (
    FLAGS,
    HELP,
    THRESHOLDS,
    Policy,
    Selection,
    experiment_selection,
    flag_of,
)

F = TypeVar("F", bound=Callable[..., Any])

# Flags renamed when the selection got one spelling: old -> new.
RENAMED_FLAGS = {
    "--max-nn-sim": "--near-dup-max",
    "--min-judge": "--judge-min",
    "--max-decontam": "--decontam-max",
}


class ThresholdType(click.ParamType[Any, Any]):
    """A number between 0 and 1, or `off`."""

    name = "0..1|off"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, float):
            return value
        text = str(value).strip().lower()
        if text in ("off", "none"):
            return OFF
        try:
            number = float(text)
        except ValueError:
            self.fail(f"'{value}' is not a number between 0 and 1 (or 'off')", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{number:g} is not between 0 and 1 (give 'off' to turn it off)", param, ctx)
        return number


OFF = "off"  # an explicit "turn this threshold off" (None means "not given: use the config")


def _renamed(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:
        old = param.opts[0]
        raise click.UsageError(f"{old} is now {RENAMED_FLAGS[old]}", ctx=ctx)


def selection_options(func: F) -> F:
    """Add `--arm`, `--policy`, every threshold and switch of `Selection`, as one block."""
    options: list[Callable[[F], F]] = [
        click.option(
            "--arm",
            default=None,
            help="Take the selection defaults from this arm's config (default: the experiment's).",
        ),
        click.option(
            "--policy",
            type=click.Choice([p.value for p in Policy]),
            default=None,
            help=f"{HELP['policy']} [default: the config's filter.policy]",
        ),
    ]
    for name in THRESHOLDS:
        options.append(
            click.option(
                flag_of(name),
                name,
                type=ThresholdType(),
                default=None,
                help=f"{HELP[name]} 'off' turns it off. [default: the config's filter.{name}]",
            )
        )
    for name in FLAGS:
        options.append(
            click.option(
                f"{flag_of(name)}/--no-{flag_of(name)[2:]}",
                name,
                default=None,
                help=f"{HELP[name]} [default: the config's filter.{name}]",
            )
        )
    for old in RENAMED_FLAGS:
        options.append(
            click.option(old, hidden=True, expose_value=False, callback=_renamed, is_eager=True)
        )
    for option in reversed(options):
        func = option(func)
    return func


def selection_from(db: Database, experiment: str, options: dict[str, Any]) -> Selection:
    """The Selection the options name (popped from `options`), the config filling the rest."""
    base = experiment_selection(db, experiment, options.pop("arm", None))
    given: dict[str, Any] = {}
    for field in dataclasses.fields(Selection):
        value = options.pop(field.name, None)
        if value is not None:
            given[field.name] = None if value == OFF else value
    return dataclasses.replace(base, **given)


def parse_ratios(values: tuple[str, ...]) -> dict[str, float]:
    """`strategy=share` pairs into a dict, with an error naming the bad pair."""
    ratios: dict[str, float] = {}
    for value in values:
        name, _, share = value.partition("=")
        try:
            number = float(share)
        except ValueError:
            raise click.BadParameter(
                f"'{value}': write STRATEGY=SHARE, e.g. iqc=0.2", param_hint="--ratio"
            ) from None
        if not math.isfinite(number) or number < 0:
            raise click.BadParameter(
                f"'{value}': a share is a finite number >= 0, e.g. iqc=0.2", param_hint="--ratio"
            )
        ratios[name.strip()] = number
    return ratios
