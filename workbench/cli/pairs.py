"""`flames pairs step-dpo`: per-step DPO pairs from a file of incorrect traces.

The model and rollout options are defined here once and shared with the training-data
exports (`flames export rft|dpo|step-dpo`, `workbench.cli.export_training`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import click

from pipeline.datasets.rollouts import RolloutPlan
from pipeline.datasets.step_pairs import PAIR_VARIANTS
from pipeline.datasets.steps import SPLIT_MODES
from pipeline.llm.spec import BACKENDS, ModelSpec
from workbench.cli.options import db_option, open_workspace

F = TypeVar("F", bound=Callable[..., Any])


def _stack(func: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def model_options(func: F) -> F:
    """--model, --backend, --base-url and the backend's resources."""
    return _stack(
        func,
        [
            click.option("--model", default=None, help="Model folder, Hub id or served name."),
            click.option(
                "--backend",
                type=click.Choice(BACKENDS),
                default=None,
                help="transformers (CPU/GPU), vllm (GPU) or openai (a server).",
            ),
            click.option(
                "--base-url",
                "base_urls",
                multiple=True,
                help="openai: server URL, e.g. http://127.0.0.1:8000/v1 (repeatable).",
            ),
            click.option("--api-key-env", default=None, help="openai: env var with the key."),
            click.option("--concurrency", type=click.IntRange(min=1), default=None),
            click.option("--max-batch-size", type=click.IntRange(min=1), default=None),
            click.option("--device", default=None, help="transformers: cpu, cuda, cuda:1, auto."),
            click.option("--dtype", default=None, help="auto, float32, bfloat16 or float16."),
        ],
    )


def model_spec(base: ModelSpec, options: dict[str, Any]) -> ModelSpec:
    """`base` with the model options that were given (pops them from `options`)."""
    given: dict[str, Any] = {}
    for name in (
        "model",
        "backend",
        "base_urls",
        "api_key_env",
        "concurrency",
        "max_batch_size",
        "device",
        "dtype",
    ):
        value = options.pop(name, None)
        if value is not None and value != ():
            given[name] = value
    if given.get("base_urls") and "backend" not in given:
        given["backend"] = "openai"
    return replace(base, **given)


def rollout_options(func: F) -> F:
    """K, the rollouts' sampling, the step split, --all-steps and the pair variant."""
    return _stack(
        func,
        [
            click.option(
                "--rollouts",
                "k",
                type=click.IntRange(min=1),
                default=None,
                help="K rollouts per step prefix [default: 5].",
            ),
            click.option("--temperature", type=click.FloatRange(min=0), default=None),
            click.option("--top-p", type=click.FloatRange(min=0, max=1), default=None),
            click.option("--top-k", type=int, default=None),
            click.option("--max-new-tokens", type=click.IntRange(min=1), default=None),
            click.option("--seed", type=int, default=None, help="Rollout seed (k adds to it)."),
            click.option(
                "--split",
                type=click.Choice(SPLIT_MODES),
                default=None,
                help="Steps at lines (GSM8K), sentences (LaTeX-heavy) or chosen per trace "
                "[default: auto].",
            ),
            click.option("--min-chars", type=click.IntRange(min=0), default=None),
            click.option("--max-steps", type=click.IntRange(min=1), default=None),
            click.option(
                "--all-steps",
                is_flag=True,
                default=None,
                help="Value every prefix (advantage plots), not only up to the first pit.",
            ),
            click.option(
                "--variant",
                type=click.Choice(PAIR_VARIANTS),
                default=None,
                help="default: problem | full solution vs trace cut after c; self_explore: "
                "problem + steps before c | continuation vs step c.",
            ),
        ],
    )


def rollout_plan(base: RolloutPlan, options: dict[str, Any]) -> RolloutPlan:
    """`base` with the rollout options that were given (pops them from `options`)."""
    given = {name: options.pop(name, None) for name in ROLLOUT_KEYS}
    sampling = {n: given[n] for n in ("temperature", "top_p", "top_k", "max_new_tokens", "seed")}
    split = {n: given[n] for n in ("min_chars", "max_steps")}
    split["mode"] = given["split"]
    plan = replace(
        base,
        params=replace(base.params, **{k: v for k, v in sampling.items() if v is not None}),
        split=replace(base.split, **{k: v for k, v in split.items() if v is not None}),
    )
    if given["k"] is not None:
        plan = replace(plan, k=given["k"])
    if given["all_steps"]:
        plan = replace(plan, all_steps=True)
    return plan


ROLLOUT_KEYS = (
    "k",
    "temperature",
    "top_p",
    "top_k",
    "max_new_tokens",
    "seed",
    "split",
    "min_chars",
    "max_steps",
    "all_steps",
)


@click.group(name="pairs")
def command() -> None:
    """Build preference pairs from traces (per-step DPO)."""


@command.command(name="step-dpo")
@click.argument("traces", type=click.Path(dir_okay=False))
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Pairs JSONL."
)
@click.option(
    "--prefer-given",
    is_flag=True,
    help="Chosen = a line's `chosen` solution when it has one (default: the correct rollout).",
)
@model_options
@rollout_options
@db_option
def step_dpo(traces: str, out_path: str, prefer_given: bool, db_path: str, **options: Any) -> None:
    """Per-step DPO pairs for each incorrect trace in TRACES.

    Lines: {"id", "question", "answer", "response"} (response: an incorrect solution;
    optional "chosen": a correct one). Writes {"id", "steps", "q", "critical_step", "prompt",
    "chosen", "rejected"} per line. Every rollout is cached in the workspace: the same
    command after a kill re-sends nothing that finished.
    """
    from pipeline.datasets.step_files import check_out_file, read_trace_file, step_dpo_file
    from pipeline.llm.backend import load_backend
    from workbench.cli.progress import reporter_bar

    variant = options.pop("variant", None) or "default"
    spec = model_spec(ModelSpec(), options)
    plan = rollout_plan(RolloutPlan(), options)
    read_trace_file(traces)  # bad input fails before a model is loaded
    check_out_file(out_path)
    db = open_workspace(db_path)
    backend = load_backend(spec)
    try:
        with reporter_bar("rollouts") as report:
            result = step_dpo_file(
                db,
                backend,
                traces,
                out_path,
                plan,
                variant=variant,
                prefer_given=prefer_given,
                progress=report,
            )
    finally:
        backend.close()
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(result.statuses.items()))
    click.echo(
        f"{result.lines} traces -> {result.pairs} pairs in {out_path} ({statuses}); "
        f"{result.requests} rollout requests",
        err=True,
    )
    if result.failed:
        click.echo(
            f"error: {result.failed} rollout requests failed (errors stored in {db_path}); "
            "run the same command again to retry them.",
            err=True,
        )
        raise SystemExit(1)
