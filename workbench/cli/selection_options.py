"""Click options for a selection policy and its thresholds, shared by blend and export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from pipeline.selection.thresholds import POLICIES, Selection

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(func: F) -> F:
    """--policy, --max-nn-sim, --max-decontam, --min-judge."""
    options = [
        click.option(
            "--policy",
            type=click.Choice(list(POLICIES)),
            default="first",
            show_default=True,
            help="Selection policy over the sampled solutions.",
        ),
        click.option(
            "--max-nn-sim",
            type=float,
            default=0.9,
            show_default=True,
            help="Drop problems at least this similar to a kept neighbour.",
        ),
        click.option(
            "--max-decontam",
            type=float,
            default=0.95,
            show_default=True,
            help="Drop problems with this much benchmark n-gram overlap.",
        ),
        click.option(
            "--min-judge",
            type=float,
            default=None,
            help="Keep only problems with at least this judge score.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selection_from(options: dict[str, Any]) -> Selection:
    """The Selection named by the options above (popped from `options`)."""
    return Selection(
        policy=options.pop("policy"),
        max_nn_sim=options.pop("max_nn_sim"),
        max_decontam=options.pop("max_decontam"),
        min_judge=options.pop("min_judge"),
    )


def reproduce_command(words: list[str], selection: Selection) -> str:
    """The command line that reproduces an export, for its dataset card."""
    import shlex

    args = ["flames", *words, "--policy", selection.policy]
    for flag, value in (
        ("--max-nn-sim", selection.max_nn_sim),
        ("--max-decontam", selection.max_decontam),
        ("--min-judge", selection.min_judge),
    ):
        if value is not None:
            args += [flag, f"{value:g}"]
    return shlex.join(args)


def parse_ratios(values: tuple[str, ...]) -> dict[str, float]:
    """`strategy=share` pairs into a dict, with an error naming the bad pair."""
    ratios: dict[str, float] = {}
    for value in values:
        name, _, share = value.partition("=")
        try:
            ratios[name.strip()] = float(share)
        except ValueError:
            raise click.BadParameter(
                f"'{value}': write STRATEGY=SHARE, e.g. iqc=0.2", param_hint="--ratio"
            ) from None
    return ratios
