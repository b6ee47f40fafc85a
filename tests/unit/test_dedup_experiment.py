"""Experiment mode of dedup and decontaminate: stored signals, pairs, reruns, errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from pipeline.benchmarks.loading import BenchItem
from pipeline.decontam.contamination import decontaminate_experiment
from pipeline.decontam.index import NgramIndex
from pipeline.dedup.experiment import dedup_experiment
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EGGS = "Janet's ducks lay 16 eggs per day. She eats three for breakfast and sells the rest for $2."
EGGS_17 = (
    "Janet's ducks lay 17 eggs per day. She eats three for breakfast and sells the rest for $2."
)
EGGS_LOOSE = "Janet's hens lay 16 eggs each day. She eats two at lunch and sells the rest for $3."
TRAIN = "A train travels 60 miles per hour for 3 hours. How far does it go in total?"


def add_problems(db: Database, name: str, rows: list[tuple[str, str]]) -> list[int]:
    exp = int(
        db["experiments"].insert({"name": name, "config_toml": "", "config_json": "{}"}).last_pk
    )
    return [
        int(
            db["problems"]
            .insert(
                {"experiment_id": exp, "strategy": "paraphrase", "text": text, "status": status}
            )
            .last_pk
        )
        for text, status in rows
    ]


def scores(db: Database) -> dict[int, dict[str, Any]]:
    return {int(r["problem_id"]): r for r in db["scores"].rows}


def test_dedup_stores_signals_pairs_and_reruns_idempotently(db: Database) -> None:
    ids = add_problems(
        db,
        "exp",
        [
            (EGGS, "ok"),
            (TRAIN, "ok"),
            (EGGS, "ok"),
            (EGGS_17, "ok"),
            (EGGS, "rejected"),
            (EGGS_LOOSE, "ok"),
        ],
    )
    other = add_problems(db, "other", [(EGGS, "ok")])
    db["scores"].insert({"problem_id": ids[1], "judge_score": 0.7})
    summary = dedup_experiment(db, "exp", 0.9)
    assert summary.items == 5 and summary.exact_dups == 1 and summary.pairs == 3
    s = scores(db)
    assert set(s) == {ids[0], ids[1], ids[2], ids[3], ids[5]}  # rejected and other untouched
    assert s[ids[1]]["judge_score"] == 0.7  # other columns kept
    assert s[ids[2]]["is_exact_dup"] == 1 and s[ids[0]]["is_exact_dup"] == 0
    assert s[ids[0]]["nn_id"] == ids[2] and s[ids[0]]["nn_sim"] == 1.0
    assert s[ids[3]]["nn_id"] == ids[0] and 0.9 <= s[ids[3]]["nn_sim"] < 1
    assert {s[i]["cluster_id"] for i in (ids[0], ids[2], ids[3])} == {ids[0]}
    assert s[ids[1]]["cluster_id"] == ids[1] and s[ids[1]]["nn_id"] is None
    # Below the threshold but above the floor: a neighbour for the slider, not a cluster.
    assert s[ids[5]]["cluster_id"] == ids[5] and 0.5 <= s[ids[5]]["nn_sim"] < 0.9
    assert s[ids[3]]["dup_of_id"] == ids[0] and s[ids[0]]["dup_of_id"] is None
    pairs = sorted((r["problem_id"], r["other_id"]) for r in db["duplicates"].rows)
    assert pairs == [(ids[0], ids[2]), (ids[0], ids[3]), (ids[2], ids[3])]
    run = json.loads(
        db.execute("SELECT params_json FROM signal_runs WHERE kind = 'dedup'").fetchone()[0]
    )
    assert run["threshold"] == 0.9 and run["pairs"] == 3
    before = scores(db)
    again = dedup_experiment(db, "exp", 0.9)
    assert again.pairs == 3 and db["duplicates"].count == 3
    assert {
        k: {c: v for c, v in r.items() if c != "updated_at"} for k, r in scores(db).items()
    } == {k: {c: v for c, v in r.items() if c != "updated_at"} for k, r in before.items()}
    assert db["problems"].count == len(ids) + len(other)


def test_dedup_prefers_a_scores_column_for_representatives(db: Database) -> None:
    ids = add_problems(db, "exp", [(EGGS, "ok"), (EGGS_17, "ok")])
    db["scores"].insert_all(
        [{"problem_id": ids[0], "judge_score": 0.2}, {"problem_id": ids[1], "judge_score": 0.8}]
    )
    dedup_experiment(db, "exp", 0.9, prefer="judge_score")
    s = scores(db)
    assert s[ids[0]]["cluster_id"] == ids[1] and s[ids[0]]["dup_of_id"] == ids[1]
    with pytest.raises(ConfigError, match="not a numeric scores column"):
        dedup_experiment(db, "exp", 0.9, prefer="text; DROP TABLE scores")
    with pytest.raises(ConfigError, match="no experiment called 'nope'"):
        dedup_experiment(db, "nope", 0.9)


def test_decontaminate_stores_overlap_and_match(db: Database) -> None:
    ids = add_problems(db, "exp", [(EGGS, "ok"), (TRAIN, "ok"), (EGGS, "rejected")])
    index = NgramIndex([BenchItem("gsm8k", 1, EGGS), BenchItem("gsm8k", 2, "What is 2+2?")], n=8)
    summary = decontaminate_experiment(db, "exp", index, 0.95, benchmarks=["gsm8k"])
    assert summary.problems == 2 and summary.contaminated == 1
    s = scores(db)
    assert set(s) == {ids[0], ids[1]}
    assert s[ids[0]]["decontam_overlap"] == 1.0
    assert json.loads(s[ids[0]]["decontam_match"]) == {
        "benchmark": "gsm8k",
        "item": 1,
        "text": EGGS,
    }
    assert s[ids[1]]["decontam_overlap"] == 0 and s[ids[1]]["decontam_match"] is None
    run = json.loads(
        db.execute("SELECT params_json FROM signal_runs WHERE kind = 'decontaminate'").fetchone()[0]
    )
    assert run["contaminated"] == 1 and run["benchmarks"] == ["gsm8k"]


def run_flames(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`flames ARGS --db DB` in a subprocess, with no data folder from the environment."""
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args, "--db", str(db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "FLAMES_DATA_DIR"},
    )


def test_cli_runs_both_commands_on_an_experiment(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    add_problems(db, "exp", [(EGGS, "ok"), (EGGS_17, "ok"), (TRAIN, "ok")])
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"question": TRAIN}) + "\n")

    dedup = run_flames(db_path, "dedup", "exp", "--threshold", "0.9")
    assert dedup.returncode == 0, dedup.stderr
    assert "1 pairs with similarity >= 0.9" in dedup.stdout
    decon = run_flames(db_path, "decontaminate", "exp", "--against", str(bench))
    assert decon.returncode == 0, decon.stderr
    assert "1 of 3 problems contaminated" in decon.stdout
    missing = run_flames(db_path, "decontaminate", "exp", "--against", "gsm8k")
    assert missing.returncode == 1 and "benchmark 'gsm8k': no data dir given" in missing.stderr
    nofile = run_flames(db_path, "dedup", "missing.jsonl")
    assert nofile.returncode == 1 and "missing.jsonl: no such file" in nofile.stderr


def test_dedup_of_an_experiment_defaults_to_the_threshold_flames_run_stores(
    db: Database, db_path: Path
) -> None:
    """The TUI's `d` runs `flames dedup EXP` bare: it must store what `flames run` would."""
    from pipeline.experiments.store import create_experiment, load_experiment, save_experiment

    config = create_experiment(db, "quick", preset="quickstart").config
    looser = dataclasses.replace(
        config, filter=dataclasses.replace(config.filter, near_dup_max=0.8)
    )
    save_experiment(db, looser)
    assert load_experiment(db, "quick").filter.near_dup_max == 0.8
    result = run_flames(db_path, "dedup", "quick")
    assert result.returncode == 0, result.stderr
    assert "pairs with similarity >= 0.8" in result.stdout
