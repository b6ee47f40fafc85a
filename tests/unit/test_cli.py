"""The CLI: help everywhere, one-line errors, unbuilt commands say so and exit non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import COMMANDS, cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_top_level_help_lists_every_group() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in (
        "init",
        "seeds",
        "experiment",
        "llm",
        "generate",
        "solve",
        "filter",
        "blend",
        "export",
        "grade",
        "dedup",
        "decontaminate",
        "tui",
        "run",
        "jobs",
    ):
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_seed_import_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine"}\n{"question": \n', encoding="utf-8")
    result = run("seeds", "import", str(bad), "--name", "x", "--db", str(tmp_path / "w.db"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "bad.jsonl:2:" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_seeds_round_trip_through_the_cli(tmp_path: Path, shared_data: Path) -> None:
    db = str(tmp_path / "w.db")
    source = str(shared_data / "gsm8k" / "test.jsonl")
    first = run("seeds", "import", source, "--name", "gsm8k-test", "--db", db)
    assert first.returncode == 0, first.stderr
    assert "1319 added" in first.stdout
    again = run("seeds", "import", source, "--name", "gsm8k-test", "--db", db)
    assert again.returncode == 1 and "already exists" in again.stderr and "--append" in again.stderr
    again = run("seeds", "import", source, "--name", "gsm8k-test", "--append", "--db", db)
    assert "0 added (appended), 1319 already present" in again.stdout
    listed = run("seeds", "list", "--db", db)
    assert "gsm8k-test" in listed.stdout and "1319" in listed.stdout
    shown = run("seeds", "show", "gsm8k-test", "--db", db)
    assert "Janet" in shown.stdout and "answer: 18" in shown.stdout


def test_db_from_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    result = CliRunner().invoke(cli, ["init"], env={"FLAMES_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_experiment_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    created = run("experiment", "new", "quick", "--preset", "quickstart", "--db", db)
    assert created.returncode == 0, created.stderr
    shown = run("experiment", "show", "quick", "--db", db)
    assert "suggester_editor" in shown.stdout and "baseline" in shown.stdout
    exported = run("experiment", "export", "quick", "--db", db)
    assert 'name = "quick"' in exported.stdout
    missing = run("experiment", "show", "nope", "--db", db)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no experiment")
