"""`flames seeds`: import, list and show seed sets."""

from __future__ import annotations

import click

from pipeline.errors import InputError
from pipeline.jobs.locks import stage_lock
from pipeline.seeds import import_seeds
from pipeline.seeds.importer import IMPORT_LOCK, check_set_name
from storage.seeds import list_seed_sets, sample_seeds, seed_set_id
from workbench.cli.options import db_option, open_workspace
from workbench.cli.progress import reporter_bar


@click.group(name="seeds")
def command() -> None:
    """Import, list and show seed sets."""


@command.command(name="import")
@click.argument("source")
@click.option("--name", required=True, help="Name of the new seed set.")
@click.option(
    "--append",
    is_flag=True,
    help="Add to the existing seed set NAME (without it, an existing NAME is refused).",
)
@click.option("--question-field", default=None, help="Field holding the problem text.")
@click.option("--answer-field", default=None, help="Field holding the final answer.")
@db_option
def import_(
    source: str,
    name: str,
    append: bool,
    question_field: str | None,
    answer_field: str | None,
    db_path: str,
) -> None:
    """Import seed problems from SOURCE.

    SOURCE is a .jsonl/.json/.csv/.parquet file, hf:ORG/NAME[:CONFIG]:SPLIT, or `champ`
    (the embedded CHAMP set). Fields are detected (question/problem/input, answer/
    final_answer/target, GSM8K '#### N', \\boxed{} or 'The answer is' in solutions, chat
    `messages`); with --append, content the set already holds is skipped. A bad record aborts
    the import and changes nothing; other commands keep working on the workspace while a big
    import runs.
    """
    name = check_set_name(name)
    db = open_workspace(db_path)
    with (
        stage_lock(db, IMPORT_LOCK, f"seed set {name}"),
        reporter_bar(f"importing {source}") as progress,
    ):
        report = import_seeds(
            db,
            source,
            name,
            question_field=question_field,
            answer_field=answer_field,
            append=append,
            progress=progress,
        )
    mapping = report.fields.summary
    click.echo(
        f"{report.name}: {report.added} added{' (appended)' if report.appended else ''}, "
        f"{report.skipped} already present "
        f"({report.rows} read, {report.with_answer} with an answer; {mapping})"
    )


@command.command(name="list")
@db_option
def list_(db_path: str) -> None:
    """List seed sets with their sizes."""
    db = open_workspace(db_path)
    sets = list_seed_sets(db)
    if not sets:
        click.echo("no seed sets yet: flames seeds import champ --name champ")
        return
    width = max(len(row["name"]) for row in sets)
    click.echo(f"{'name':<{width}}  {'seeds':>7}  {'answers':>7}  source")
    for row in sets:
        click.echo(
            f"{row['name']:<{width}}  {row['seeds']:>7}  {row['with_answer'] or 0:>7}  "
            f"{row['source']}"
        )


@command.command(name="show")
@click.argument("name")
@click.option("--limit", default=5, show_default=True, help="Seeds to print.")
@db_option
def show(name: str, limit: int, db_path: str) -> None:
    """Show a seed set and its first seeds."""
    db = open_workspace(db_path)
    set_id = seed_set_id(db, name)
    if set_id is None:
        known = ", ".join(row["name"] for row in list_seed_sets(db)) or "none yet"
        raise InputError(f"no seed set called '{name}' (seed sets: {known})")
    info = next(row for row in list_seed_sets(db) if row["id"] == set_id)
    click.echo(
        f"{name}: {info['seeds']} seeds, {info['with_answer'] or 0} with an answer, "
        f"from {info['source']} ({info['created_at']})"
    )
    for seed in sample_seeds(db, set_id, limit):
        question = " ".join(seed["question"].split())
        click.echo(f"\n[{seed['source_line']}] {question[:300]}")
        click.echo(f"    answer: {seed['answer'] if seed['answer'] is not None else '(none)'}")
