"""The worker's messages to the process that launched it: one JSON line each on stdout.

`accelerate launch` passes the worker's stdout through, so the launching process reads these
lines as they come (progress, checkpoints, the one-line error) and everything else the
libraries print goes on to the log. Only the main process of a distributed run emits them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PREFIX = "@@flames-train "


def emit(kind: str, **data: Any) -> None:
    """Print one event line (`begin`, `step`, `checkpoint`, `done`, `error`)."""
    sys.stdout.write(PREFIX + json.dumps({"kind": kind, **data}, default=str) + "\n")
    sys.stdout.flush()


def parse(line: str) -> dict[str, Any] | None:
    """The event on a line of worker output, or None for any other line."""
    if not line.startswith(PREFIX):
        return None
    try:
        event = json.loads(line[len(PREFIX) :])
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("kind"), str) else None
