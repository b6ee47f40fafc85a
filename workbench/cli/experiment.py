"""`flames experiment`: create, list, show, export, clone, rename and delete experiments."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.config import preset_names
from pipeline.experiments import store as experiments
from workbench.cli.options import db_option, open_workspace


@click.group(name="experiment")
def command() -> None:
    """Create, list, show, export, clone, rename and delete experiments."""


@command.command(name="new")
@click.argument("name")
@click.option(
    "--preset", default=None, help=f"Start from a shipped preset ({', '.join(preset_names())})."
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Start from a TOML config file.",
)
@db_option
def new(name: str, preset: str | None, config_path: str | None, db_path: str) -> None:
    """Create experiment NAME from --preset P or --config FILE."""
    db = open_workspace(db_path)
    created = experiments.create_experiment(db, name, preset=preset, config_path=config_path)
    config = created.config
    enabled = config.enabled_strategies()
    click.echo(
        f"created experiment '{name}': {len(enabled)} strategies, "
        f"{sum(s.budget for s in enabled.values())} problems requested, "
        f"{len(config.arms)} arms"
    )
    for note in created.notes:
        click.echo(f"  note: {note}")
    click.echo(f"next: flames generate {name}")


@command.command(name="list")
@db_option
def list_(db_path: str) -> None:
    """List experiments."""
    db = open_workspace(db_path)
    names = experiments.list_experiments(db)
    if not names:
        click.echo("no experiments yet: flames experiment new NAME --preset quickstart")
    for name in names:
        click.echo(name)


@command.command(name="show")
@click.argument("name")
@click.option(
    "--brief", is_flag=True, help="Only the summary, without the stored config file after it."
)
@db_option
def show(name: str, brief: bool, db_path: str) -> None:
    """Show an experiment: models, strategies, filters, arms and per-stage counts, then its
    config as stored (a preset's comments, which cite where each value comes from, kept)."""
    db = open_workspace(db_path)
    info = experiments.summary(db, name)
    config = info["config"]
    click.echo(
        f"experiment {name}"
        + (f" (preset {info['preset']})" if info["preset"] else "")
        + f", created {info['created_at']}"
    )
    if config.experiment.description:
        click.echo(f"  {config.experiment.description}")
    seeds = ", ".join(f"{ref.name} x{ref.ratio:g}" for ref in config.seed_sets) or "none"
    click.echo(f"seed sets: {seeds}; random seed {config.experiment.seed}")
    for role in ("generator", "teacher", "judge", "student"):
        spec = getattr(config.models, role)
        click.echo(f"{role:>9}: {spec.model} [{spec.backend}]")
    click.echo("strategies:")
    for strategy, cfg in config.strategies.items():
        state = "on " if cfg.enabled else "off"
        params = ", ".join(f"{k}={v}" for k, v in cfg.params.items())
        click.echo(
            f"  {state} {strategy:<24} budget {cfg.budget:>7}" + (f"  ({params})" if params else "")
        )
    f = config.filter
    near_dup = f"near-dup < {f.near_dup_max:g}" if f.near_dup_max is not None else "no near-dup"
    click.echo(
        f"filter: policy {f.policy}, {near_dup}, decontam < "
        f"{f.decontam_max:g} ({f.ngram}-grams vs {', '.join(f.decontam_against)})"
        + (f", judge >= {f.judge_min:g}" if f.judge_min is not None else "")
    )
    if config.blend.ratios:
        ratios = ", ".join(f"{k} {v:g}" for k, v in config.blend.ratios.items())
        click.echo(f"blend: total {config.blend.total}: {ratios}")
    for arm in info["arms"]:
        mark = " (baseline)" if arm["is_baseline"] else ""
        click.echo(f"arm {arm['name']}{mark}: {arm['factor'] or '-'} {arm['overrides_json']}")
    if info["stages"]:
        click.echo(
            f"{'strategy':<24} {'problems':>8} {'rejected':>8} {'solutions':>9} {'scored':>7}"
        )
        for row in info["stages"]:
            click.echo(
                f"{row['strategy']:<24} {row['problems']:>8} {row['rejected']:>8} "
                f"{row['solutions']:>9} {row['scored']:>7}"
            )
    else:
        click.echo(f"no problems yet: flames generate {name}")
    if not brief:
        click.echo("\nconfig (as stored):")
        click.echo(info["config_toml"].rstrip())


@command.command(name="export")
@click.argument("name")
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write to this file instead of standard output.",
)
@db_option
def export(name: str, out: str | None, db_path: str) -> None:
    """Print the experiment's full config as TOML (recreate it with `new --config`)."""
    db = open_workspace(db_path)
    text = experiments.export_experiment(db, name)
    if out is None:
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


@command.command(name="delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
def delete(name: str, yes: bool, db_path: str) -> None:
    """Delete experiment NAME with its problems, solutions, scores and blends.

    Seed sets, prompt templates and the LLM request cache stay.
    """
    db = open_workspace(db_path)
    info = experiments.summary(db, name)
    problems = sum(int(row["problems"] or 0) + int(row["rejected"] or 0) for row in info["stages"])
    if not yes:
        click.confirm(
            f"delete experiment '{name}' and its {problems} problems?", abort=True, err=True
        )
    deleted = experiments.delete_experiment(db, name)
    click.echo(f"deleted experiment '{deleted.name}' ({deleted.problems} problems)")


@command.command(name="clone")
@click.argument("name")
@click.argument("new_name")
@db_option
def clone(name: str, new_name: str, db_path: str) -> None:
    """Create NEW_NAME with the config of NAME (problems are not copied).

    Generating the clone reuses the cached replies of NAME's prompts: no model calls for
    what did not change.
    """
    db = open_workspace(db_path)
    experiments.clone_experiment(db, name, new_name)
    click.echo(f"created experiment '{new_name}' with the config of '{name}'")
    click.echo(f"next: flames generate {new_name}")


@command.command(name="rename")
@click.argument("name")
@click.argument("new_name")
@db_option
def rename(name: str, new_name: str, db_path: str) -> None:
    """Call experiment NAME NEW_NAME from now on (its problems and jobs follow)."""
    db = open_workspace(db_path)
    experiments.rename_experiment(db, name, new_name)
    click.echo(f"renamed experiment '{name}' to '{new_name}'")
