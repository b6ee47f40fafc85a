"""The quickstart for real: embedded model, no data folder, `flames run` to `flames results`.

The smallest run the quickstart allows (two problems per agent, two training steps, two
evaluation items) so it fits the suite's budget; `make run` -> `n` -> `flames run` runs the
full preset the same way. Nothing outside the installed packages is read: no
$FLAMES_DATA_DIR, and the working directory is an empty folder away from the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from pipeline.config import preset_text

pytestmark = pytest.mark.model


def flames(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FLAMES_DATA_DIR", "FLAMES_DB")}
    binary = Path(sys.executable).parent / "flames"
    return subprocess.run(
        [str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1500
    )


def test_quickstart_runs_every_stage_and_reaches_results(tmp_path: Path) -> None:
    data = tomllib.loads(preset_text("quickstart"))
    for strategy in data["strategies"].values():
        strategy.update(budget=2, attempts_cap=6)
    data["training"]["max_steps"] = 2
    data["evaluation"]["limit"] = 2
    data["sampling"]["eval"]["max_new_tokens"] = 64
    (tmp_path / "quickstart.toml").write_text(tomli_w.dumps(data), encoding="utf-8")
    made = flames(
        "experiment", "new", "quickstart", "--config", "quickstart.toml", "--db", "ws.db",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    started = time.monotonic()
    run = flames("run", "quickstart", "--db", "ws.db", cwd=tmp_path)
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"quickstart (smallest) end to end: {seconds:.0f} s")  # noqa: T201 - the figure
    assert "champ_heldout" in run.stderr  # decontaminated against the embedded held-out part

    results = flames("results", "quickstart", "--format", "json", "--db", "ws.db", cwd=tmp_path)
    assert results.returncode == 0, results.stderr
    rows = json.loads(results.stdout)["rows"]
    assert [row["arm"] for row in rows] == ["base", "suggester_editor", "distraction_insertion"]
    assert all(bench["n"] > 0 for row in rows for bench in row["benchmarks"].values())

    again = flames("run", "quickstart", "--db", "ws.db", cwd=tmp_path)
    assert again.returncode == 0 and "✓" not in again.stderr  # every stage reused, none redone
