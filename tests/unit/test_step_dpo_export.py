"""Per-step DPO end to end: from an experiment (export) and from a file (`flames pairs step-dpo`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.datasets.exports import ExportTarget, export_step_dpo
from storage.database import open_db
from storage.traces import critical_step_histogram, trace_detail, trace_sets
from tests.unit.llm_doubles import LoopbackServer
from tests.unit.planted_pits import (
    PlantedBackend,
    build_experiment,
    fresh_sample,
    problem,
    respond,
    trace,
)
from tests.unit.trl_checks import check_preference_file
from workbench.cli.main import main

K = 3  # training.rollouts_k of the test experiment


def run_cli(argv: list[str]) -> int:
    """`flames ARGV`'s exit status."""
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("fmt", ["messages", "prompt-completion"])
def test_export_step_dpo_finds_each_planted_pit(db: Database, tmp_path: Path, fmt: str) -> None:
    build_experiment(db, tmp_path)
    out = tmp_path / f"step-{fmt}.jsonl"
    backend = PlantedBackend(mixed=True)
    result = export_step_dpo(db, "negatives", backend, ExportTarget(out, fmt))
    # 3 problems x 2 incorrect traces (step_traces = 2), all rolled out to their pit
    assert result.failed == 0 and result.examples == 6 and result.skipped == {}
    rollouts = [r for r in backend.sent if r.params.seed == 1]
    # identical traces of one problem share every request: (c + 1) x K per problem, c = 1, 2, 3
    assert len(rollouts) == (2 + 3 + 4) * K
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["kind"] == "step-dpo" and card["extra"]["critical_steps"] == {
        "1": 2,
        "2": 2,
        "3": 2,
    }
    assert card["extra"]["rollouts_k"] == K and card["notes"]
    for line in out.read_text().splitlines():
        record = json.loads(line)
        rejected = record["rejected"][0]["content"] if fmt == "messages" else record["rejected"]
        assert rejected.splitlines()[-1].startswith("Step ")
        assert "\\boxed{43}" not in rejected  # cut before the wrong final line
    check_preference_file(out, tmp_path)

    (stored,) = [s for s in trace_sets(db) if s.experiment_id == 1]
    assert critical_step_histogram(db, stored.id) == [(1, 2), (2, 2), (3, 2)]
    again = PlantedBackend(mixed=True)
    export_step_dpo(db, "negatives", again, ExportTarget(out, fmt, overwrite=True))
    assert again.sent == []  # samples and rollouts all come from the cache


def test_pairs_step_dpo_on_a_file_through_an_openai_server(tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    lines = [
        {"id": "a", "question": problem(0, 2), "answer": "42", "response": trace(4)},
        {"id": 7, "question": problem(1, 0), "answer": "42", "response": trace(3)},
        {"id": "c", "question": problem(2, 9), "answer": "#### 42", "response": trace(2)},
    ]
    traces.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "pairs.jsonl"
    db_path = tmp_path / "w.db"
    argv = ["pairs", "step-dpo", str(traces), "--base-url", "", "--rollouts", "2", "--out",
            str(out), "--db", str(db_path), "--split", "lines"]  # fmt: skip
    with LoopbackServer(responder=respond) as server:
        argv[4] = server.base_url
        assert run_cli(argv) == 0
        sent = len(server.log)
        bodies = [e.body for e in server.log]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", 7, "c"]
    assert set(rows[0]) == {"id", "steps", "q", "critical_step", "prompt", "chosen", "rejected"}
    first, skipped, climbing = rows
    assert first["critical_step"] == 2 and first["q"] == [1, 1, 0]
    assert first["steps"] == trace(4).splitlines()
    assert first["prompt"] == problem(0, 2)
    assert first["rejected"] == "\n".join(trace(4).splitlines()[:2])
    assert first["chosen"].startswith(trace(4).splitlines()[0]) and "\\boxed{42}" in first["chosen"]
    assert skipped["critical_step"] is None and skipped["q"] == [0] and skipped["chosen"] is None
    assert climbing["critical_step"] is None and climbing["q"] == [1, 1, 1]
    assert sent == 2 * (3 + 1 + 3)  # (c + 1) x K, K x 1 (skipped), (L + 1) x K (no pit)
    assert any(b.get("continue_final_message") for b in bodies)

    db = open_db(db_path)
    (stored,) = trace_sets(db)
    assert stored.source == str(traces.resolve())
    detail = trace_detail(db, 1)
    assert detail is not None and detail.trace.critical_step == 2
    assert [s.q for s in detail.steps] == [1, 0, None, None]
    with LoopbackServer(responder=respond) as server:
        argv[4] = server.base_url
        assert run_cli(argv) == 0
        assert [e for e in server.log if e.path.endswith("completions")] == []


def test_bad_trace_files_fail_in_one_line_before_any_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "a", "question": "q", "answer": "1"}\n')
    argv = ["pairs", "step-dpo", str(traces), "--out", str(tmp_path / "o.jsonl"),
            "--db", str(tmp_path / "w.db")]  # fmt: skip
    assert run_cli(argv) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"error: {traces}:1: field 'response': missing; each line needs id, question, answer, response"
    )


def mixed_respond(body: dict[str, object]) -> str:
    """The mixed student over HTTP: trace samples (seeds 0..99) vary by sample, rollouts
    (seeds from 1000) continue their prefix."""
    seed = int(body.get("seed") or 0)  # type: ignore[call-overload]
    if seed < 100 and not body.get("continue_final_message"):
        messages = body["messages"]
        assert isinstance(messages, list)
        return fresh_sample(messages[0]["content"], seed)
    return respond(body)  # type: ignore[arg-type]


def test_flames_export_commands_write_each_set(tmp_path: Path) -> None:
    db_path = tmp_path / "w.db"
    build_experiment(open_db(db_path), tmp_path)
    with LoopbackServer(responder=mixed_respond) as server:
        common = ["negatives", "--base-url", server.base_url, "--db", str(db_path)]
        for kind in ("rft", "dpo", "step-dpo"):
            out = tmp_path / f"{kind}.jsonl"
            extra = ["--seed", "1000", "--variant", "self_explore"] if kind == "step-dpo" else []
            assert run_cli(["export", kind, *common, "--out", str(out), *extra]) == 0
            card = json.loads(out.with_suffix(".card.json").read_text())
            assert card["kind"] == kind and card["total_written"] > 0
            assert card["command"].startswith("flames export")
        assert run_cli(["export", "rft", *common, "--out", str(tmp_path / "rft.jsonl")]) == 1
    step = json.loads((tmp_path / "step-dpo.card.json").read_text())
    assert (
        step["extra"]["variant"] == "self_explore"
        and step["extra"]["rollout_sampling"]["seed"] == 1000
    )
    assert step["extra"]["critical_steps"] == {"1": 2, "2": 2, "3": 2}
