"""`evaluate`: planted right/wrong answers come out exactly; reruns send nothing; kills resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.benchmarks import BENCHMARKS, Prompt, open_benchmark
from pipeline.errors import ConfigError, FlamesError, InputError
from pipeline.evaluation import Attachment, evaluate, item_records
from pipeline.llm.spec import ModelSpec, SamplingParams
from tests.unit.eval_doubles import Plan, PlantedBackend

SMALL = SamplingParams(temperature=0.0, top_p=1.0, top_k=0, max_new_tokens=64)
# Full files where they are quick to grade; a prefix of the ones whose golds need sympy.
LIMITS = {"college_math": 150, "math500": 150, "olympiadbench": 150, "minerva_math": 100}


def planted(shared_data: Path, names: list[str]) -> Plan:
    plan = Plan()
    for name in names:
        plan.plant(open_benchmark(name, shared_data), LIMITS.get(name))
    return plan


def eval_rows(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM eval_runs").fetchone()[0])


def test_planted_accuracy_on_every_benchmark(db: Database, shared_data: Path) -> None:
    names = [n for n in BENCHMARKS if n != "math"]  # the full MATH test is on the Hub only
    plan = planted(shared_data, names)
    backend = PlantedBackend(plan.outputs)
    for name in names:
        report = evaluate(
            db, ModelSpec(), [name], sampling=SMALL, data_dir=shared_data,
            limit=LIMITS.get(name), backend=backend,
        )  # fmt: skip
        score = report.benchmarks[name]
        assert (score.score.correct, score.score.n) == (plan.correct[name], plan.items[name]), name
        assert score.failed == 0 and score.status == "done"
        lo, hi = score.score.ci95
        assert lo <= score.score.accuracy <= hi
    # Every GSM-Plus perturbation type, exactly.
    gsmplus = report_for(db, "gsmplus")
    types = {name: s["correct"] for name, s in gsmplus["by_type"].items()}
    assert types == dict(plan.by_subset["gsmplus"])
    assert "critical thinking" not in types and len(types) == 7
    assert sum(s["n"] for s in gsmplus["by_type"].values()) == 2100


def report_for(db: Database, benchmark: str) -> dict[str, object]:
    from pipeline.evaluation.report import benchmark_score

    run_id = db.execute(
        "SELECT id FROM eval_runs WHERE benchmark = ? ORDER BY id DESC", [benchmark]
    ).fetchone()[0]
    label = BENCHMARKS[benchmark].layout.subset_label
    return benchmark_score(db, int(run_id), label).as_json()


def test_rerun_sends_nothing_and_reuses_the_run(db: Database, shared_data: Path) -> None:
    plan = planted(shared_data, ["gsm8k", "math500"])
    first = PlantedBackend(plan.outputs)
    kwargs = {"sampling": SMALL, "data_dir": shared_data, "limit": 40}
    report = evaluate(db, ModelSpec(), ["gsm8k", "math500"], backend=first, **kwargs)
    assert len(first.sent) == 80 and report.sent == 80
    again = PlantedBackend(plan.outputs)
    second = evaluate(db, ModelSpec(), ["gsm8k", "math500"], backend=again, **kwargs)
    assert again.sent == [] and second.sent == 0
    assert eval_rows(db) == 2
    assert {n: b.score for n, b in second.benchmarks.items()} == {
        n: b.score for n, b in report.benchmarks.items()
    }
    # Another prompt is another run (the cache cannot answer it either). A system turn
    # leaves the user turn as it was, so the planted outputs still apply.
    other = PlantedBackend(plan.outputs)
    evaluate(
        db, ModelSpec(), ["gsm8k"], backend=other, prompt=Prompt(system="Be careful."), **kwargs
    )
    assert len(other.sent) == 40 and eval_rows(db) == 3


def test_a_killed_eval_resumes_without_resending(
    db: Database, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.evaluation.harness as module

    monkeypatch.setattr(module, "CHUNK", 16)
    plan = planted(shared_data, ["gsmplus_distraction"])
    dying = PlantedBackend(plan.outputs, crash_after=70)
    with pytest.raises(KeyboardInterrupt):
        evaluate(db, ModelSpec(), ["gsmplus_distraction"], data_dir=shared_data, backend=dying)
    stored = db.execute("SELECT status, n_graded FROM eval_runs").fetchall()
    # Chunk k is stored once chunk k+1 is generated: three chunks of 16 made it, the fourth
    # was graded while the fifth was being generated when the kill came.
    assert stored == [("running", 48)]
    resumed = PlantedBackend(plan.outputs)
    report = evaluate(
        db, ModelSpec(), ["gsmplus_distraction"], data_dir=shared_data, backend=resumed
    )
    assert len(dying.sent) + len(resumed.sent) == 300  # nothing asked twice
    score = report.benchmarks["gsmplus_distraction"]
    assert (score.score.correct, score.score.n, score.status) == (
        plan.correct["gsmplus_distraction"], 300, "done",
    )  # fmt: skip


def test_items_store_output_answer_verdict_and_reason(db: Database, shared_data: Path) -> None:
    plan = planted(shared_data, ["gsm8k"])
    report = evaluate(
        db, ModelSpec(), ["gsm8k"], data_dir=shared_data, limit=30,
        backend=PlantedBackend(plan.outputs),
    )  # fmt: skip
    items = list(item_records(db, report))
    assert [i["index"] for i in items] == list(range(30))
    right = [i for i in items if i["correct"]]
    wrong = [i for i in items if not i["correct"]]
    assert right and wrong
    assert all(i["extracted"] == i["gold"] and i["verdict"] == "correct" for i in right)
    assert all(i["verdict"] == "incorrect" and i["reason"] for i in wrong)
    assert all(i["extract_rule"] == "boxed" and "\\boxed" in i["output"] for i in items)
    data = report.as_json()
    assert set(data) >= {"model", "benchmarks"}
    assert set(data["benchmarks"]["gsm8k"]) >= {"n", "correct", "accuracy", "ci95"}
    assert data["benchmarks"]["gsm8k"]["n"] == 30
    run = db.execute("SELECT prompt_tokens, completion_tokens, seconds FROM eval_runs").fetchone()
    assert run[0] == 20 * 30 and run[1] > 0 and run[2] >= 0


def test_breakdowns_by_subject_and_level(db: Database, shared_data: Path) -> None:
    plan = planted(shared_data, ["math500"])
    report = evaluate(
        db, ModelSpec(), ["math500"], data_dir=shared_data, limit=150,
        backend=PlantedBackend(plan.outputs),
    )  # fmt: skip
    data = report.as_json()["benchmarks"]["math500"]
    assert sum(s["n"] for s in data["by_subject"].values()) == 150
    assert sum(s["correct"] for s in data["by_level"].values()) == plan.correct["math500"]
    assert set(data["by_level"]) <= {"1", "2", "3", "4", "5"}


def test_failed_requests_are_counted_and_retried(db: Database, shared_data: Path) -> None:
    plan = planted(shared_data, ["aime24"])
    broken = PlantedBackend({})  # every request raises KeyError inside the backend
    report = evaluate(db, ModelSpec(), ["aime24"], data_dir=shared_data, backend=broken)
    score = report.benchmarks["aime24"]
    assert (score.failed, score.score.correct, score.status) == (30, 0, "incomplete")
    fixed = evaluate(
        db, ModelSpec(), ["aime24"], data_dir=shared_data, backend=PlantedBackend(plan.outputs)
    )
    assert fixed.benchmarks["aime24"].failed == 0
    assert fixed.benchmarks["aime24"].score.correct == plan.correct["aime24"]


def test_bad_input_leaves_no_eval_run(db: Database, shared_data: Path, tmp_path: Path) -> None:
    backend = PlantedBackend({})
    with pytest.raises(ConfigError, match=r"unknown benchmark 'gsm9k' \(known: gsm8k, math, "):
        evaluate(db, ModelSpec(), ["gsm8k", "gsm9k"], data_dir=shared_data, backend=backend)
    bad = tmp_path / "noanswer.jsonl"
    bad.write_text(json.dumps({"question": "What is 2+2?", "hint": "add"}) + "\n")
    with pytest.raises(
        InputError, match=r"noanswer.jsonl:1: .*no answer field .*has hint, question"
    ):
        evaluate(db, ModelSpec(), [str(bad)], backend=backend)
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    with pytest.raises(FlamesError, match="not-a-model: no config.json"):
        evaluate(db, ModelSpec(model=str(folder)), ["gsm8k"], data_dir=shared_data)
    with pytest.raises(ConfigError, match="must contain \\{question\\}"):
        evaluate(db, ModelSpec(), ["gsm8k"], data_dir=shared_data, prompt=Prompt(user="Solve."))
    with pytest.raises(ConfigError, match="needs its experiment and arm"):
        evaluate(db, ModelSpec(), ["gsm8k"], attach=Attachment(role="arm"), backend=backend)
    assert eval_rows(db) == 0 and backend.sent == []
