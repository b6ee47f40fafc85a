"""Ranges in the config and the CLI: a typo fails at once in one line, never a traceback,
a hang or all of memory (issue 16 items 8 and 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.config import parse_config
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

BASE = """
[experiment]
name = "bounds"

[[seed_sets]]
name = "champ"
ratio = 1.0

[strategies.paraphrase]
budget = 10
"""


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[strategies.iqc]\nbudget = 9223372036854775807", "strategies.iqc.budget", "between 0"),
        ("[strategies.iqc]\nbudget = 1e10", "strategies.iqc.budget", "expected an integer"),
        ("[solve]\nk = 100000000", "solve.k", "between 1 and 1,000"),
        ("[models.teacher]\ntimeout_s = -1.0", "models.teacher.timeout_s", "must be > 0"),
        ("[models.teacher]\nmax_retries = -2", "models.teacher.max_retries", "between 0"),
        ("[models.teacher]\nmax_response_bytes = 5", "models.teacher.max_response_bytes", "1,000"),
        ("[filter]\njudge_min = 5.0", "filter.judge_min", "between 0 and 1"),
        ("[training]\nepochs = -1", "training.epochs", "must be > 0"),
        ("[blend]\ntotal = 10\n[blend.ratios]\niqc = nan", "blend.ratios.iqc", "finite"),
        ("[sampling.teacher]\nn = 5000", "sampling.teacher.n", "between 1 and 1,000"),
    ],
)
def test_out_of_range_values_fail_in_one_line(extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + "\n" + extra, source="exp.toml")
    message = str(raised.value)
    assert message.startswith(f"exp.toml: key '{key}'"), message
    assert words in message and "\n" not in message


def test_deeply_nested_toml_is_one_line() -> None:
    deep = "x = " + "[" * 100_000 + "]" * 100_000
    with pytest.raises(ConfigError, match=r"^deep.toml: invalid TOML: nested too deeply$"):
        parse_config(deep, source="deep.toml")


@pytest.mark.parametrize("name", ["two\\nlines", "x" * 300])
def test_experiment_names_are_one_short_line(name: str) -> None:
    text = BASE.replace('name = "bounds"', f'name = "{name}"')
    with pytest.raises(ConfigError, match="key 'experiment.name'"):
        parse_config(text, source="exp.toml")


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "exp", "--k", "100000000"],
        ["solve", "exp", "--max-attempts", "0"],
        ["llm", "run", "p.jsonl", "--out", "o.jsonl", "--timeout", "-1"],
        ["llm", "run", "p.jsonl", "--out", "o.jsonl", "--retries", "-1"],
    ],
)
def test_cli_ranges_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    from workbench.cli.main import cli

    result = CliRunner().invoke(cli, [*args, "--db", str(tmp_path / "w.db")])
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and "Traceback" not in result.output


def test_unwritable_out_fails_before_any_model_work(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n', encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "llm",
            "run",
            str(prompts),
            "--out",
            "/proc/flames-out.jsonl",  # a folder nobody can create files in, even root
            "--backend",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",  # would fail differently if the model were loaded first
            "--db",
            str(tmp_path / "w.db"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "cannot write in folder /proc" in result.stderr
    assert "Traceback" not in result.stderr and "cannot reach" not in result.stderr


@pytest.mark.parametrize("name", ["../presets/quickstart", "/etc/passwd", "quickstart.toml"])
def test_presets_are_names_never_paths(name: str) -> None:
    from pipeline.config import preset_text

    with pytest.raises(ConfigError, match="unknown preset .*--config"):
        preset_text(name)
    assert "[experiment]" in preset_text("quickstart")


@pytest.mark.parametrize("ratio", ["iqc=nan", "iqc=inf", "iqc=-1", "iqc"])
def test_blend_ratios_must_be_finite_shares(ratio: str) -> None:
    import click

    from workbench.cli.selection_options import parse_ratios

    with pytest.raises(click.BadParameter, match="iqc"):
        parse_ratios((ratio,))
    assert parse_ratios(("iqc=0.2", "few_shot=1")) == {"iqc": 0.2, "few_shot": 1.0}


def test_thresholds_refuse_nan() -> None:
    from workbench.cli.main import cli

    result = CliRunner().invoke(cli, ["filter", "exp", "--near-dup-max", "nan"])
    assert result.exit_code == 2 and "not between 0 and 1" in result.output
