"""The one default output folder of a workspace, and that git ignores it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from storage.workspace import output_dir

ROOT = Path(__file__).parents[2]


def test_outputs_go_beside_the_workspace_file(tmp_path: Path) -> None:
    assert output_dir(tmp_path / "ws.db") == tmp_path / "ws-out"
    assert output_dir("flames.db") == Path.cwd() / "flames-out"
    assert output_dir(":memory:") == Path.cwd() / "flames-out"


def test_default_outputs_in_a_clone_are_ignored() -> None:
    paths = [
        "flames.db",
        "flames-out/quickstart-blend.jsonl",
        "flames-out/quickstart-sft.jsonl",
        "flames-models/qft-0123/config.json",
        "flames-jobs/job-1.log",
        "quickstart-blend.jsonl",
        "quickstart-blend.card.json",
        "quickstart-blend.card.md",
    ]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == paths
