"""Running `flames ...` commands as background jobs: the launcher and the detached runner.

This lives in the workbench because a job is a CLI command: the runner starts
`python -m workbench.cli ...` in a process of its own. The pipeline side (job rows,
process identities, stage locks, cancel) is `pipeline.jobs`.
"""
