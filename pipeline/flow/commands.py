"""The CLI line for each thing the TUI's Runs screen launches (shown, then run as a job)."""

from __future__ import annotations

import shlex

# action -> (what it does, the `flames run` flags that do it)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "run": ("every stage not done yet", ()),
    "train": ("every stage up to training", ("--until", "train")),
    "eval": ("evaluate again (the stages before are reused)", ("--from", "eval")),
}


def flow_command(
    action: str, experiment: str, *, arm: str | None = None, db: str | None = None
) -> str:
    """`flames run EXPERIMENT [--arm A] [flags] [--db DB]` for one of `ACTIONS`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (actions: {', '.join(ACTIONS)})")
    argv = ["flames", "run", experiment]
    if arm:
        argv += ["--arm", arm]
    argv += list(ACTIONS[action][1])
    if db:
        argv += ["--db", db]
    return shlex.join(argv)
