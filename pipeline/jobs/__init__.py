"""Background jobs, seen from the pipeline: job rows, process identities, stage locks.

A job is a `flames ...` command run by a detached runner (`workbench.jobs`) with a row in
`jobs`. The command reports through `pipeline.progress` like any other run; inside a job
the CLI adds `pipeline.jobs.reporter.JobReporter` to its reporters, so the row follows the
same events as the bar. Nothing here imports the CLI or the TUI.
"""

from storage.jobs import EXIT_WITH_FAILURES

# Set by the runner in the environment of the command it runs.
JOB_ID_ENV = "FLAMES_JOB_ID"
JOB_DB_ENV = "FLAMES_JOB_DB"
JOB_RUNNER_ENV = "FLAMES_JOB_RUNNER"  # "PID:START_TIME" of the runner the command watches

__all__ = ["EXIT_WITH_FAILURES", "JOB_DB_ENV", "JOB_ID_ENV", "JOB_RUNNER_ENV"]
