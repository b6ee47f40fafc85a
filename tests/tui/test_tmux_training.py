"""A real terminal: launch training from the Runs screen and watch its curve move.

The workspace has been through the shared stages and the blend with a scripted model; the
student is a tiny random model built from a config (a real TRL run through `accelerate
launch` that takes seconds, not minutes). The TUI launches the real `flames run ...
--until train` job; the test reads the screen until the run's step count has moved.
Skipped where tmux is missing (CI installs it).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest
import tomli_w

from pipeline.config import preset_text
from pipeline.experiments.store import create_experiment
from pipeline.flow.run import run_experiment
from storage.database import open_db
from storage.workspace import output_dir
from tests.tui.flow_sample import reply
from tests.unit.strategy_doubles import ScriptedBackend
from tests.unit.tiny_model import build_tiny_model

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).parents[2]
STEPS = 40


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen_of(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, pattern: str, timeout: float = 60.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = screen_of(session)
        found = re.search(pattern, screen)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{screen}")


def workspace(tmp_path: Path) -> Path:
    """The quickstart with a tiny student, run up to the blend with a scripted model."""
    data = tomllib.loads(preset_text("quickstart"))
    data["models"]["student"]["model"] = str(build_tiny_model(tmp_path / "tiny"))
    data["training"] = {
        "method": "sft",
        "lora": True,
        "max_steps": STEPS,
        "batch_size": 1,
        "max_seq_len": 128,
        "checkpoints": 1,
        "gradient_checkpointing": False,
    }
    config = tmp_path / "quickstart.toml"
    config.write_text(tomli_w.dumps(data), encoding="utf-8")
    path = tmp_path / "ws.db"
    db = open_db(path)
    create_experiment(db, "quickstart", config_path=config)
    report = run_experiment(
        db,
        "quickstart",
        until="blend",
        out_dir=output_dir(path),
        backend=ScriptedBackend(reply),
    )
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    db.conn.close()
    return path


def test_launch_training_from_runs_and_watch_the_curve(tmp_path: Path) -> None:
    path = workspace(tmp_path)
    session = f"flames-train-{uuid.uuid4().hex[:8]}"
    flames = Path(sys.executable).parent / "flames"
    command = (
        # COLUMNS/LINES in the environment would pin the app below the pane's real size.
        f"cd {shlex.quote(str(tmp_path))} && env -u COLUMNS -u LINES "
        f"{shlex.quote(str(flames))} tui --db ws.db "
        "--screen runs; echo EXITED $?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        wait_for(session, "No training runs yet")
        tmux("send-keys", "-t", session, "a")  # action: run -> train
        tmux("send-keys", "-t", session, "m")  # arm: every arm -> the first arm
        launched = wait_for(session, r"l launches: (flames run quickstart --arm \S+ --until train)")
        assert "--db ws.db" in screen_of(session)
        tmux("send-keys", "-t", session, "l")
        seen: set[int] = set()
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and (len(seen) < 2 or max(seen) < STEPS):
            found = re.search(rf"step (\d+)/{STEPS}", screen_of(session))
            if found:
                seen.add(int(found.group(1)))
            time.sleep(0.3)
        assert len(seen) >= 2, f"the run's steps never moved: {seen}\n{screen_of(session)}"
        assert max(seen) == STEPS and "loss" in screen_of(session)
        wait_for(session, r"run \d+ sft \(sft\) done", timeout=240)  # saved, row closed
        assert launched.group(1).startswith("flames run quickstart --arm")
        tmux("send-keys", "-t", session, "C-q")
        wait_for(session, "EXITED 0")
    finally:
        tmux("kill-session", "-t", session)
    db = open_db(path)
    status, steps = db.execute("SELECT status, last_step FROM training_runs").fetchone()
    losses = db.execute("SELECT COUNT(*) FROM training_metrics WHERE name = 'loss'").fetchone()
    assert (status, steps) == ("done", STEPS) and losses[0] == STEPS
