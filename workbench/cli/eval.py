"""`flames eval --model MODEL --bench gsm8k,math500`: a model on named benchmarks, every item stored."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

import click
from sqlite_utils import Database

from pipeline.benchmarks import BENCHMARKS, DATA_DIR_ENV, Prompt
from pipeline.config import ExperimentConfig
from pipeline.errors import ConfigError, FlamesError
from pipeline.evaluation import (
    EVAL_SAMPLING,
    Attachment,
    EvalReport,
    config_prompt,
    evaluate,
    item_records,
)
from pipeline.experiments.lookup import resolve_experiment
from pipeline.experiments.store import load_experiment
from pipeline.jsonl import write_jsonl
from pipeline.llm.spec import BACKENDS, EMBEDDED_MODEL, ModelSpec
from storage import experiments as experiment_rows
from workbench.cli.options import db_option, open_workspace, retry_options, stage_locked
from workbench.cli.progress import reporter_bar


def list_benchmarks() -> None:
    """The registry: names, item counts of the standard copies, where they are read from."""
    for bench in BENCHMARKS.values():
        where = bench.package or ", ".join(f"DIR/{f}" for f in bench.files)
        if bench.hub:
            where += f"; {bench.name}=hub: {bench.hub}"
        count = f"{bench.items:>5}" if bench.items is not None else "    ?"
        click.echo(f"{bench.name:<20} {count}  {bench.title}")
        click.echo(f"{'':<27}{where}")


def print_report(report: EvalReport) -> None:
    """One line per benchmark: accuracy, its interval, and failures."""
    click.echo(f"{report.model} ({report.backend})")
    for name, bench in report.benchmarks.items():
        low, high = bench.score.ci95
        failed = f"  {bench.failed} failed" if bench.failed else ""
        click.echo(
            f"  {name:<20} {bench.score.correct:>5}/{bench.score.n:<5} "
            f"{100 * bench.score.accuracy:6.2f}%  [{100 * low:.1f}, {100 * high:.1f}]{failed}"
        )
    click.echo(
        f"{report.sent} requests sent, {report.cached} answered from the cache, "
        f"{report.reused} items graded before; {report.seconds:.1f} s of work in all"
    )


def write_report(path: str, report: EvalReport) -> None:
    """REPORT.json, written whole or not at all."""
    target = Path(path)
    part = target.with_name(target.name + ".part")
    part.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
    os.replace(part, target)


def _attachment(
    db: Database, experiment: str | None, arm: str | None, base: bool
) -> tuple[Attachment, ExperimentConfig | None]:
    if experiment is None:
        if arm or base:
            raise click.UsageError("--arm and --base need --experiment EXP")
        return Attachment(), None
    if bool(arm) == base:
        raise click.UsageError("with --experiment, give exactly one of --arm ARM or --base")
    config = load_experiment(db, experiment)
    experiment_id = resolve_experiment(db, experiment)
    if base:
        return Attachment(experiment_id=experiment_id, role="base"), config
    arms = {row["name"]: int(row["id"]) for row in experiment_rows.arm_rows(db, experiment_id)}
    if arm not in arms:
        raise ConfigError(
            f"experiment '{experiment}' has no arm '{arm}' (arms: {', '.join(arms) or 'none'})"
        )
    return Attachment(experiment_id=experiment_id, arm_id=arms[arm], role="arm"), config


@click.command(name="eval")
@click.option(
    "--model",
    default=None,
    help="A Hub id, a local folder, a `flames train` output (weights or LoRA adapter), or "
    f"{EMBEDDED_MODEL}. Default with --base: the experiment's student.",
)
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help="Model backend.")
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    help="openai backend: a server's /v1 URL (repeat for several, load-balanced).",
)
@click.option(
    "--bench",
    default=None,
    help="Benchmarks, comma-separated: registry names (see --list), NAME=hub, NAME=PATH, "
    "JSONL paths or hf:ORG/NAME[:CONFIG]:SPLIT. Default with --experiment: its [evaluation].",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    envvar=DATA_DIR_ENV,
    default=None,
    help=f"Where benchmark files live, e.g. DIR/gsm8k/test.jsonl (env {DATA_DIR_ENV}).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N items each.")
@click.option(
    "--max-new-tokens", type=click.IntRange(min=1), default=None, help="Default 2048 (greedy)."
)
@click.option("--prompt", default=None, help="The user turn, with {question} where it goes.")
@click.option("--system", default=None, help="A system turn to send before it.")
@click.option("--experiment", default=None, help="Attach the eval to this experiment ...")
@click.option("--arm", default=None, help="... as this arm's student,")
@click.option("--base", is_flag=True, help="... or as its base student (the reference row).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write REPORT.json: accuracy, ci95 and breakdowns per benchmark.",
)
@click.option(
    "--items-out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write ITEMS.jsonl: every item's output, extracted answer, gold and verdict.",
)
@click.option("--list", "show_list", is_flag=True, help="List the named benchmarks and exit.")
@retry_options
@db_option
def command(
    model: str | None,
    backend: str | None,
    base_urls: tuple[str, ...],
    bench: str | None,
    data_dir: str | None,
    limit: int | None,
    max_new_tokens: int | None,
    prompt: str | None,
    system: str | None,
    experiment: str | None,
    arm: str | None,
    base: bool,
    out: str | None,
    items_out: str | None,
    show_list: bool,
    max_attempts: int,
    retry_failed: bool,
    db_path: str,
) -> None:
    """Evaluate MODEL zero-shot on benchmarks; each item's output and verdict is stored.

    Greedy decoding, 2,048 new tokens, the model's chat template and the Qwen2.5-Math CoT
    prompt by default. Resumable: a killed eval continues where it stopped, and the same
    command again sends nothing. Exits 1 when items failed (they are retried next time).
    """
    if show_list:
        list_benchmarks()
        return
    db = open_workspace(db_path)
    attach, config = _attachment(db, experiment, arm, base)
    evaluation = config.evaluation if config else None
    sampling = config.sampling.eval if config else EVAL_SAMPLING
    if max_new_tokens is not None:
        sampling = dataclasses.replace(sampling, max_new_tokens=max_new_tokens)
    names = bench.split(",") if bench else list(evaluation.benchmarks if evaluation else ())
    if not names:
        raise click.UsageError("give --bench NAME[,NAME...] (see --list)")
    spec = _model_spec(model, backend, base_urls, config, base)
    chosen = config_prompt(evaluation) if evaluation else None
    if prompt or system:
        given = chosen or Prompt()
        chosen = Prompt(user=prompt or given.user, system=system or given.system)
    lock = (
        stage_locked(db, f"eval {arm or 'base'}", experiment)
        if experiment is not None
        else contextlib.nullcontext()
    )
    with lock, reporter_bar("eval") as progress:
        report = evaluate(
            db,
            spec,
            names,
            sampling=sampling,
            prompt=chosen,
            data_dir=data_dir or (evaluation.data_dir if evaluation else None),
            limit=limit or (evaluation.limit if evaluation else None),
            attach=attach,
            max_attempts=max_attempts,
            retry_failed=retry_failed,
            progress=progress,
        )
    print_report(report)
    if out:
        write_report(out, report)
        click.echo(f"report written to {out}")
    if items_out:
        count = write_jsonl(items_out, item_records(db, report))
        click.echo(f"{count} items written to {items_out}")
    if report.failed:
        raise FlamesError(
            f"{report.failed} items failed (model errors, counted as wrong); "
            "run the same command again to retry them"
        )


def _model_spec(
    model: str | None,
    backend: str | None,
    base_urls: tuple[str, ...],
    config: ExperimentConfig | None,
    base: bool,
) -> ModelSpec:
    """The model from the flags, on top of the experiment's student spec when there is one."""
    student = config.models.student if config else ModelSpec()
    if model is None and not (config and base):
        raise click.UsageError("give --model MODEL (or --experiment EXP --base for its student)")
    urls = tuple(u for url in base_urls for u in url.split(",") if u.strip())
    spec = dataclasses.replace(
        student,
        model=model or student.model,
        backend=backend or ("openai" if urls else student.backend),
        base_urls=urls or student.base_urls,
    )
    if spec.backend == "openai" and not spec.base_urls:
        raise click.UsageError("--backend openai needs --base-url URL")
    return spec
