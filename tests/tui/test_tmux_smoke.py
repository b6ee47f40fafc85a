"""A real terminal: start `flames tui` in tmux at 80x24, navigate every screen, quit.

Skipped where tmux is missing (CI installs it: `apt-get install -y tmux`).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).parents[2]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for_text(session: str, text: str, timeout: float = 45.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"'{text}' never appeared; the screen was:\n{screen}")


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_start_navigate_quit(sample_db: Path, size: tuple[int, int]) -> None:
    session = f"flames-smoke-{uuid.uuid4().hex[:8]}"
    flames = Path(sys.executable).parent / "flames"
    command = (
        # COLUMNS/LINES in the environment would pin the app below the pane's real size.
        f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {shlex.quote(str(flames))} tui --db "
        f"{shlex.quote(str(sample_db))}; echo EXITED $?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command)
    try:
        wait_for_text(session, "palette")
        steps = [
            ("3", "sort: id"),
            ("enter", "Provenance"),
            ("escape", "sort: id"),
            ("4", "kept %"),
            ("5", "needed"),
            ("6", "No jobs yet"),
            ("2", "few_shot"),
            ("0", "seed set"),
            ("1", "generated"),
            ("question_mark", "FLAMES Workbench keys"),
        ]
        if size != (80, 24):  # the big terminal: start, browse, inspect, quit
            steps = steps[:2]
        for key, expected in steps:
            tmux(
                "send-keys",
                "-t",
                session,
                {"enter": "Enter", "escape": "Escape", "question_mark": "?"}.get(key, key),
            )
            screen = wait_for_text(session, expected)
            # The key bar fits the terminal and always offers help (Filters, Blend and Jobs
            # join when they show the KeyBar instead of Textual's Footer).
            if key not in ("4", "5", "6"):
                assert "? help" in screen.rstrip("\n").splitlines()[-1], screen
        tmux("send-keys", "-t", session, "C-q")
        wait_for_text(session, "EXITED 0")
    finally:
        tmux("kill-session", "-t", session)
