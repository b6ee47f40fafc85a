"""`flames jobs start|list|show|log|cancel|resume`: background jobs and their logs."""

from __future__ import annotations

import shlex
import time

import click

from pipeline.jobs.control import cancel_job, read_log_tail, reap_stale
from storage import jobs as job_rows
from workbench.cli.options import db_option, open_workspace


def _progress(job: job_rows.JobRow) -> str:
    if job.progress_total:
        return f"{job.progress_done}/{job.progress_total}"
    return str(job.progress_done) if job.progress_done else "-"


@click.group(name="jobs")
def command() -> None:
    """Start, list, follow, cancel and resume background jobs."""


@command.command(name="start", context_settings={"ignore_unknown_options": True})
@db_option
@click.option("--experiment-id", type=int, default=None, help="Experiment the job belongs to.")
@click.argument("words", nargs=-1, required=True, type=click.UNPROCESSED)
def start_cmd(db_path: str, experiment_id: int | None, words: tuple[str, ...]) -> None:
    """Run a flames command in the background: `flames jobs start -- generate EXP`.

    The job keeps running when the terminal closes; its kind is the command's name.
    """
    from workbench.jobs.launcher import launch_job

    argv = list(words)
    if argv[0] != "flames":
        argv.insert(0, "flames")
    if "--db" not in argv:
        argv += ["--db", db_path]
    line = shlex.join(argv)
    job_id = launch_job(open_workspace(db_path), db_path, line, experiment_id=experiment_id)
    click.echo(f"job {job_id} started: {line}\nfollow it: flames jobs log -f {job_id}")


@command.command(name="list")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Include finished jobs (default: 50 newest).")
def list_cmd(db_path: str, show_all: bool) -> None:
    """Jobs, newest first, with status and progress."""
    db = open_workspace(db_path)
    reap_stale(db)
    rows = job_rows.list_jobs(db, limit=100_000 if show_all else 50)
    if not rows:
        click.echo(
            "No jobs yet. Launch one from `flames tui` (Experiments) or `flames jobs start`."
        )
        return
    click.echo(f"{'id':>4}  {'status':<22} {'kind':<13} {'progress':>11}  command")
    for job in rows:
        click.echo(
            f"{job.id:>4}  {job.status_text:<22} {job.kind:<13} {_progress(job):>11}  {job.command}"
        )


@command.command(name="show")
@db_option
@click.argument("job_id", type=int)
def show_cmd(db_path: str, job_id: int) -> None:
    """Everything stored about one job, and its latest events."""
    db = open_workspace(db_path)
    reap_stale(db)
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}: see `flames jobs list`")
    click.echo(f"{'status':>10}: {job.status_text}")
    for name in (
        "id",
        "kind",
        "command",
        "pid",
        "child_pid",
        "log_path",
        "exit_code",
        "failures",
        "created_at",
        "started_at",
        "ended_at",
    ):
        click.echo(f"{name:>10}: {getattr(job, name)}")
    click.echo(f"{'progress':>10}: {_progress(job)}  {job.progress_detail or ''}")
    for _, ts, kind, message in job_rows.list_events(db, job_id)[-10:]:
        click.echo(f"  {ts} {kind}: {message or ''}")


@command.command(name="log")
@db_option
@click.argument("job_id", type=int)
@click.option("-n", "lines", default=40, show_default=True, help="Lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the job ends.")
def log_cmd(db_path: str, job_id: int, lines: int, follow: bool) -> None:
    """The tail of a job's log."""
    db = open_workspace(db_path)
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}: see `flames jobs list`")
    for line in read_log_tail(job.log_path, lines):
        click.echo(line)
    seen = len(read_log_tail(job.log_path, 1_000_000))
    while follow:
        time.sleep(0.5)
        reap_stale(db)
        all_lines = read_log_tail(job.log_path, 1_000_000)
        for line in all_lines[seen:]:
            click.echo(line)
        seen = len(all_lines)
        current = job_rows.get_job(db, job_id)
        if current is None or not current.active:
            click.echo(f"[job {job_id} {current.status_text if current else 'gone'}]")
            return


@command.command(name="cancel")
@db_option
@click.argument("job_id", type=int)
def cancel_cmd(db_path: str, job_id: int) -> None:
    """Stop a running job (SIGTERM to its process group); finished work stays saved."""
    job = cancel_job(open_workspace(db_path), job_id)
    click.echo(f"job {job.id}: {job.status_text}. Resume with `flames jobs resume {job.id}`.")


@command.command(name="resume")
@db_option
@click.argument("job_id", type=int)
def resume_cmd(db_path: str, job_id: int) -> None:
    """Run a finished, failed or cancelled job's command again as a new job."""
    from workbench.jobs.launcher import resume_job

    new_id = resume_job(open_workspace(db_path), db_path, job_id)
    click.echo(f"job {job_id} resumed as job {new_id}: `flames jobs log -f {new_id}`")
