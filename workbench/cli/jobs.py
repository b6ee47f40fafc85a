"""`flames jobs list|show|log|cancel|resume`: background jobs and their logs."""

from __future__ import annotations

import time

import click

from pipeline.jobs import supervisor as pipeline_jobs
from storage import jobs as job_rows
from storage.database import open_db
from workbench.cli.options import db_option


def _progress(job: job_rows.JobRow) -> str:
    if job.progress_total:
        return f"{job.progress_done}/{job.progress_total}"
    return str(job.progress_done) if job.progress_done else "-"


@click.group(name="jobs")
def command() -> None:
    """List, follow, cancel and resume background jobs."""


@command.command(name="list")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Include finished jobs (default: 50 newest).")
def list_cmd(db_path: str, show_all: bool) -> None:
    """Jobs, newest first, with status and progress."""
    db = open_db(db_path)
    pipeline_jobs.reap_stale(db)
    rows = job_rows.list_jobs(db, limit=100_000 if show_all else 50)
    if not rows:
        click.echo("No jobs yet. Launch one from `flames tui` (Experiments screen).")
        return
    click.echo(f"{'id':>4}  {'status':<9} {'kind':<13} {'progress':>11}  command")
    for job in rows:
        click.echo(
            f"{job.id:>4}  {job.status:<9} {job.kind:<13} {_progress(job):>11}  {job.command}"
        )


@command.command(name="show")
@db_option
@click.argument("job_id", type=int)
def show_cmd(db_path: str, job_id: int) -> None:
    """Everything stored about one job, and its latest events."""
    db = open_db(db_path)
    pipeline_jobs.reap_stale(db)
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}: see `flames jobs list`")
    for name in (
        "id",
        "kind",
        "status",
        "command",
        "pid",
        "log_path",
        "exit_code",
        "created_at",
        "started_at",
        "ended_at",
    ):
        click.echo(f"{name:>10}: {getattr(job, name)}")
    click.echo(f"{'progress':>10}: {_progress(job)}")
    for _, ts, kind, message in job_rows.list_events(db, job_id)[-10:]:
        click.echo(f"  {ts} {kind}: {message or ''}")


@command.command(name="log")
@db_option
@click.argument("job_id", type=int)
@click.option("-n", "lines", default=40, show_default=True, help="Lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the job ends.")
def log_cmd(db_path: str, job_id: int, lines: int, follow: bool) -> None:
    """The tail of a job's log."""
    db = open_db(db_path)
    job = job_rows.get_job(db, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}: see `flames jobs list`")
    shown = pipeline_jobs.read_log_tail(job.log_path, lines)
    for line in shown:
        click.echo(line)
    seen = len(pipeline_jobs.read_log_tail(job.log_path, 1_000_000))
    while follow:
        time.sleep(0.5)
        pipeline_jobs.reap_stale(db)
        all_lines = pipeline_jobs.read_log_tail(job.log_path, 1_000_000)
        for line in all_lines[seen:]:
            click.echo(line)
        seen = len(all_lines)
        current = job_rows.get_job(db, job_id)
        if current is None or not current.active:
            click.echo(f"[job {job_id} {current.status if current else 'gone'}]")
            return


@command.command(name="cancel")
@db_option
@click.argument("job_id", type=int)
def cancel_cmd(db_path: str, job_id: int) -> None:
    """Stop a running job (SIGTERM to its process group); finished work stays saved."""
    job = pipeline_jobs.cancel_job(open_db(db_path), job_id)
    click.echo(f"job {job.id}: {job.status}. Resume with `flames jobs resume {job.id}`.")


@command.command(name="resume")
@db_option
@click.argument("job_id", type=int)
def resume_cmd(db_path: str, job_id: int) -> None:
    """Run a finished, failed or cancelled job's command again as a new job."""
    new_id = pipeline_jobs.resume_job(open_db(db_path), db_path, job_id)
    click.echo(f"job {job_id} resumed as job {new_id}: `flames jobs log -f {new_id}`")
