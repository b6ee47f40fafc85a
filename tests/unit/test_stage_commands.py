"""Every stage the TUI launches runs from the experiment's config, with no extra flags."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from pipeline.experiments.store import create_experiment, load_experiment, save_experiment
from storage.database import open_db
from workbench.cli.main import cli
from workbench.jobs.launcher import stage_command

BENCH_ITEM = "A train leaves the station at noon and travels sixty miles in two hours at speed"


def test_decontaminate_reads_benchmarks_and_threshold_from_the_config(tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": BENCH_ITEM, "answer": "30"}) + "\n")
    path = tmp_path / "ws.db"
    db = open_db(path)
    config = create_experiment(db, "quick", preset="quickstart").config
    save_experiment(
        db, replace(config, filter=replace(config.filter, decontam_against=(str(bench),), ngram=5))
    )
    db.execute(
        "INSERT INTO problems (id, experiment_id, strategy, text, status) VALUES "
        f"(1, 1, 'iqc', '{BENCH_ITEM} what is it?', 'ok'), "
        "(2, 1, 'iqc', 'Tom has three apples and buys two more. How many now?', 'ok')"
    )
    argv = shlex.split(stage_command("decontaminate", path, "quick"))
    assert argv[:2] == ["flames", "decontaminate"]
    result = CliRunner().invoke(cli, argv[1:])
    assert result.exit_code == 0, result.output
    assert "1 of 2 problems contaminated" in result.output
    overlaps = dict(db.execute("SELECT problem_id, decontam_overlap FROM scores").fetchall())
    assert overlaps[1] == 1.0 and overlaps[2] == 0.0
    assert load_experiment(db, "quick").filter.decontam_max == 0.95


def test_a_file_still_needs_its_benchmarks(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"question": "x"}) + "\n")
    result = CliRunner().invoke(
        cli, ["decontaminate", str(source), "--out", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code != 0 and "--against" in result.output
