"""`flames strategies`: list the 12 strategies, show them, edit their prompt templates."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import click

from pipeline.generation.preview import preview_prompt
from pipeline.strategies import STRATEGIES, get_strategy
from pipeline.strategies.prompts import (
    current_templates,
    ensure_defaults,
    export_templates,
    import_templates,
    set_template,
)
from storage.templates import template_history
from workbench.cli.options import db_option, open_workspace


@click.group(name="strategies")
def command() -> None:
    """List, show, export and import strategy prompt templates."""


@command.command(name="list")
@db_option
def list_(db_path: str) -> None:
    """The strategies with their inputs, answer rule and template versions."""
    db = open_workspace(db_path)
    ensure_defaults(db)
    width = max(len(n) for n in STRATEGIES)
    click.echo(f"{'strategy':<{width}}  {'inputs':<11}  {'answer':<7}  templates")
    for strategy in STRATEGIES.values():
        versions = current_templates(db, strategy)
        text = ", ".join(f"{s} v{v.version}" for s, v in versions.items())
        click.echo(
            f"{strategy.name:<{width}}  {strategy.inputs:<11}  {strategy.answer_rule:<7}  {text}"
        )


@command.command(name="show")
@click.argument("name")
@click.option("--stage", default=None, help="Print this stage's template body.")
@click.option("--json", "as_json", is_flag=True, help="Print the definition as JSON.")
@db_option
def show(name: str, stage: str | None, as_json: bool, db_path: str) -> None:
    """A strategy's stages, params and answer rule (or one stage's template)."""
    strategy = get_strategy(name)
    db = open_workspace(db_path)
    versions = current_templates(db, strategy)
    if stage is not None:
        if stage not in versions:
            raise click.BadParameter(
                f"stages of {name}: {', '.join(versions)}", param_hint="--stage"
            )
        click.echo(versions[stage].body)
        return
    if as_json:
        click.echo(json.dumps(strategy.describe(), indent=2))
        return
    click.echo(f"{strategy.title} ({strategy.name}): {strategy.summary}")
    click.echo(f"inputs: {strategy.inputs}   answer rule: {strategy.answer_rule}")
    if strategy.yields != "one":
        click.echo(f"yields: {strategy.yields.replace('_', ' ')} (one problem per slot)")
    click.echo("stages:")
    for s in strategy.stages:
        loop = f", repeated by {s.repeat}" if s.repeat else ""
        if s.kind == "train":
            click.echo(f"  {s.name} (training, no template): {s.help}")
            continue
        needs = "the whole reply" if s.whole_reply else ", ".join(s.sections) or "no model call"
        checked = ", checked" if s.check is not None else ""
        click.echo(f"  {s.name} (v{versions[s.name].version}): {s.help} [{needs}{loop}{checked}]")
    click.echo("params:" if strategy.params else "params: none")
    for p in strategy.params:
        bounds = (
            f" in [{p.minimum:g}, {p.maximum:g}]"
            if p.minimum is not None and p.maximum is not None
            else ""
        )
        choices = f" one of {', '.join(p.choices)}" if p.choices else ""
        click.echo(f"  {p.name} ({p.type}, default {p.default!r}{bounds}{choices}): {p.help}")
    click.echo("")
    for line in textwrap.wrap(strategy.note, width=88):
        click.echo(line)


@command.command(name="export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@db_option
def export(folder: Path, db_path: str) -> None:
    """Write every strategy's latest templates as FOLDER/<strategy>/<stage>.txt."""
    db = open_workspace(db_path)
    written = export_templates(db, folder)
    click.echo(
        f"wrote {len(written)} templates under {folder}; edit them, then "
        f"`flames strategies import {folder}`"
    )


@command.command(name="import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--note", default=None, help="Note stored with each new version.")
@db_option
def import_(folder: Path, note: str | None, db_path: str) -> None:
    """Store each changed template file under FOLDER as a new version."""
    db = open_workspace(db_path)
    results = import_templates(db, folder, note=note)
    changed = [r for r in results if r.added]
    for r in changed:
        click.echo(f"{r.strategy}/{r.stage}: now v{r.version}")
    for r in results:
        for tag in r.missing_tags:
            click.echo(
                f"warning: {r.path} never shows <{tag}>...</{tag}>; replies without that "
                f"section are rejected as missing_section:{tag}",
                err=True,
            )
    click.echo(f"{len(changed)} templates changed, {len(results) - len(changed)} unchanged")


@command.command(name="set-template")
@click.argument("name")
@click.argument("stage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None, help="Note stored with the new version.")
@db_option
def set_template_(name: str, stage: str, file: Path, note: str | None, db_path: str) -> None:
    """Store FILE as the next version of NAME's STAGE template."""
    db = open_workspace(db_path)
    body = file.read_text(encoding="utf-8")
    body = body[:-1] if body.endswith("\n") else body
    version, added = set_template(db, get_strategy(name), stage, body, note=note, path=str(file))
    click.echo(f"{name}/{stage}: v{version.version}" + ("" if added else " (unchanged)"))


@command.command(name="history")
@click.argument("name")
@click.argument("stage")
@db_option
def history(name: str, stage: str, db_path: str) -> None:
    """Every version of NAME's STAGE template."""
    strategy = get_strategy(name)
    db = open_workspace(db_path)
    current_templates(db, strategy)
    for v in template_history(db, strategy.name, stage):
        click.echo(f"v{v.version}  {v.created_at}  {v.note or ''}")


@command.command(name="preview")
@click.argument("name")
@click.option("--stage", default=None, help="Stage to render (default: the first).")
@click.option("--seed-id", type=int, default=None, help="Seed to render on (default: the first).")
@db_option
def preview(name: str, stage: str | None, seed_id: int | None, db_path: str) -> None:
    """A stage's prompt rendered on a real seed, without calling a model."""
    strategy = get_strategy(name)
    db = open_workspace(db_path)
    click.echo(preview_prompt(db, strategy, stage or strategy.stages[0].name, seed_id))
