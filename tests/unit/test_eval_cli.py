"""`flames eval` and `flames results` as a user runs them, against a loopback OpenAI server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.benchmarks import open_benchmark
from tests.unit.eval_doubles import Plan
from tests.unit.llm_doubles import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]


def flames(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FLAMES_DATA_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args, "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_eval_report_items_and_a_rerun_that_sends_nothing(
    tmp_path: Path, shared_data: Path
) -> None:
    plan = Plan()
    for name in ("gsm8k", "gsmplus"):
        plan.plant(open_benchmark(name, shared_data), 40)

    def reply(body: dict[str, Any]) -> str:
        return plan.outputs[body["messages"][-1]["content"]]

    db = tmp_path / "w.db"
    report_path, items_path = tmp_path / "REPORT.json", tmp_path / "ITEMS.jsonl"
    with LoopbackServer(responder=reply) as server:
        args = [
            "eval", "--model", "loopback-model", "--backend", "openai",
            "--base-url", server.base_url, "--bench", "gsm8k,gsmplus",
            "--data-dir", str(shared_data), "--limit", "40",
        ]  # fmt: skip
        done = flames(*args, "--out", str(report_path), "--items-out", str(items_path), db=db)
        assert done.returncode == 0, done.stderr
        assert len(server.answered()) == 80
        again = flames(*args, db=db)
        assert again.returncode == 0, again.stderr
        assert len(server.answered()) == 80  # the same command again sent nothing
        assert "0 requests sent, 0 answered from the cache, 80 items graded before" in again.stdout
    report = json.loads(report_path.read_text())
    assert report["model"] == "loopback-model"
    gsm8k = report["benchmarks"]["gsm8k"]
    assert (gsm8k["n"], gsm8k["correct"]) == (40, plan.correct["gsm8k"])
    assert gsm8k["accuracy"] == round(plan.correct["gsm8k"] / 40, 6)
    low, high = gsm8k["ci95"]
    assert low <= gsm8k["accuracy"] <= high
    types = report["benchmarks"]["gsmplus"]["by_type"]
    assert sum(t["n"] for t in types.values()) == 40
    items = [json.loads(line) for line in items_path.read_text().splitlines()]
    assert len(items) == 80 and {i["benchmark"] for i in items} == {"gsm8k", "gsmplus"}
    assert {"output", "extracted", "gold", "verdict", "reason", "correct"} <= set(items[0])


def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "w.db"
    unknown = flames("eval", "--model", "x", "--bench", "gsm8k,gsm9k", db=db)
    assert unknown.returncode == 1
    assert "unknown benchmark 'gsm9k' (known: gsm8k, math, math500," in unknown.stderr
    assert "Traceback" not in unknown.stderr
    folder = tmp_path / "empty-model"
    folder.mkdir()
    bad_model = flames(
        "eval", "--model", str(folder), "--bench", "aime24", "--data-dir", str(shared_data),
        db=db,
    )  # fmt: skip
    assert bad_model.returncode == 1 and "no config.json" in bad_model.stderr
    listing = flames("eval", "--list", db=db)
    assert listing.returncode == 0
    assert "gsmplus_distraction    300" in listing.stdout
    assert "champ_heldout" in listing.stdout
    results = flames("results", "nope", db=db)
    assert results.returncode == 1 and "no experiment called 'nope'" in results.stderr
    import sqlite3

    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM eval_runs").fetchone()[0]
    assert count == 0


def test_experiment_evals_reach_the_results_table(tmp_path: Path, shared_data: Path) -> None:
    plan = Plan()
    plan.plant(open_benchmark("gsm8k", shared_data), 12)
    db = tmp_path / "w.db"
    with LoopbackServer(
        responder=lambda body: plan.outputs[body["messages"][-1]["content"]]
    ) as server:
        config = tmp_path / "exp.toml"
        config.write_text(
            f"""
[experiment]
name = "loop"

[models.student]
backend = "openai"
model = "loopback-model"
base_urls = ["{server.base_url}"]

[evaluation]
benchmarks = ["gsm8k"]
limit = 12
data_dir = "{shared_data}"

[[arms]]
name = "first"
baseline = true
""",
            encoding="utf-8",
        )
        made = flames("experiment", "new", "loop", "--config", str(config), db=db)
        assert made.returncode == 0, made.stderr
        base = flames("eval", "--experiment", "loop", "--base", db=db)
        assert base.returncode == 0, base.stderr
        arm = flames(
            "eval", "--experiment", "loop", "--arm", "first", "--model", "loopback-model", db=db
        )
        assert arm.returncode == 0, arm.stderr
        assert len(server.answered()) == 12  # the arm's eval found every answer cached
        wrong_arm = flames("eval", "--experiment", "loop", "--arm", "nope", "--model", "m", db=db)
        assert wrong_arm.returncode == 1 and "has no arm 'nope' (arms: first)" in wrong_arm.stderr
    table = flames("results", "loop", "--format", "json", db=db)
    assert table.returncode == 0, table.stderr
    rows = json.loads(table.stdout)["rows"]
    assert [r["arm"] for r in rows] == ["base", "first"]
    gsm8k = rows[0]["benchmarks"]["gsm8k"]
    assert (gsm8k["n"], gsm8k["correct"], gsm8k["delta"]) == (12, plan.correct["gsm8k"], 0.0)
    text = flames("results", "loop", "--breakdown", "gsm8k", db=db)
    assert text.returncode == 0 and "first [ref]" in text.stdout
