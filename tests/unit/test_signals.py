"""Signals from solutions: verifier-based answer groups, majority, agreement, labels."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from pipeline.answers import Verifier
from pipeline.errors import FlamesError
from pipeline.llm.backend import Completion
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.solving.judge import judge_experiment, store_judge_scores
from pipeline.solving.prompts import parse_judge_score, render_judge_prompt, render_solver_prompt
from pipeline.solving.scores import score_experiment
from storage.database import open_db


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=1, timeout_s=10) as shared:
        yield shared


def add_experiment(db: Database, name: str = "exp") -> int:
    return int(
        db["experiments"].insert({"name": name, "config_toml": "", "config_json": "{}"}).last_pk
    )


def add_problem(
    db: Database,
    experiment_id: int,
    solutions: list[str],
    *,
    strategy: str = "paraphrase",
    reference: str | None = None,
    text: str = "What is it?",
    status: str = "ok",
) -> int:
    problem_id = int(
        db["problems"]
        .insert(
            {
                "experiment_id": experiment_id,
                "strategy": strategy,
                "text": text,
                "status": status,
                "reference_answer": reference,
                "answer_rule": "keeps" if reference else "none",
            }
        )
        .last_pk
    )
    db["solutions"].insert_all(
        {"problem_id": problem_id, "model": "teacher", "sample_index": i, "text": body}
        for i, body in enumerate(solutions)
    )
    return problem_id


def scores(db: Database, problem_id: int) -> dict[str, Any]:
    return dict(db["scores"].get(problem_id))


def labels(db: Database, problem_id: int) -> list[tuple[str, str | None, int | None]]:
    return [
        (r["verdict"], r["extracted_answer"], r["label"])
        for r in db.query(
            "SELECT * FROM solutions WHERE problem_id = ? ORDER BY sample_index", [problem_id]
        )
    ]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "w.db")


def test_groups_use_the_verifier_not_string_equality(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    pid = add_problem(db, exp, ["so \\boxed{\\frac{1}{2}}", "The answer is 0.5.", "#### 1/2"])
    summary = score_experiment(db, "exp", verifier=verifier)
    row = scores(db, pid)
    assert summary.problems == 1 and summary.solutions == 3
    assert row["n_solutions"] == 3 and row["n_groups"] == 1
    assert row["all_agree"] == 1 and row["majority_share"] == 1.0
    assert row["first_is_majority"] == 1 and row["reference_agrees"] is None
    assert json.loads(row["groups_json"]) == [["\\frac{1}{2}", 3]]
    assert [label for *_, label in labels(db, pid)] == [1, 1, 1]


def test_majority_first_and_labels_without_reference(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    pid = add_problem(
        db,
        exp,
        ["\\boxed{7}", "\\boxed{x+1}", "\\boxed{1+x}", "I could not work this one out, sorry."],
    )
    score_experiment(db, exp, verifier=verifier)
    row = scores(db, pid)
    assert row["n_groups"] == 2 and row["majority_answer"] == "x+1"
    assert row["majority_share"] == 0.5 and row["first_answer"] == "7"
    assert row["first_is_majority"] == 0 and row["all_agree"] == 0
    assert json.loads(row["groups_json"]) == [["x+1", 2], ["7", 1]]
    assert labels(db, pid) == [
        ("incorrect", "7", 0),
        ("correct", "x+1", 1),
        ("correct", "1+x", 1),
        ("incorrect", None, 0),
    ]


def test_reference_answer_decides_labels(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    right = add_problem(db, exp, ["#### 18", "The answer is $18.00", "#### 20"], reference="18")
    wrong = add_problem(db, exp, ["#### 20", "#### 20", "#### 18"], reference="#### 18")
    score_experiment(db, exp, verifier=verifier)
    assert scores(db, right)["reference_agrees"] == 1
    assert [lab for *_, lab in labels(db, right)] == [1, 1, 0]
    # The majority (20) disagrees with the reference; labels follow the reference, not the vote.
    assert scores(db, wrong)["reference_agrees"] == 0
    assert scores(db, wrong)["majority_answer"] == "20"
    assert [lab for *_, lab in labels(db, wrong)] == [0, 0, 1]


def test_lengths_empty_problems_and_rejected(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    pid = add_problem(db, exp, ["ab \\boxed{1}", "abcd \\boxed{1}"], text="12345")
    empty = add_problem(db, exp, [])
    rejected = add_problem(db, exp, ["\\boxed{1}"], status="rejected")
    score_experiment(db, exp, verifier=verifier)
    assert scores(db, pid)["problem_chars"] == 5
    assert scores(db, pid)["solution_chars_mean"] == pytest.approx((12 + 14) / 2)
    assert scores(db, empty)["n_solutions"] == 0 and scores(db, empty)["all_agree"] is None
    assert db["scores"].count_where("problem_id = ?", [rejected]) == 0


def test_rescoring_keeps_other_columns_and_is_idempotent(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    pid = add_problem(db, exp, ["\\boxed{3}", "\\boxed{3}", "\\boxed{4}"])
    db["scores"].insert({"problem_id": pid, "nn_sim": 0.4, "decontam_overlap": 0.1})
    store_judge_scores(db, {pid: 0.8})
    score_experiment(db, exp, verifier=verifier)
    first = scores(db, pid)
    score_experiment(db, exp, verifier=verifier, reextract=True)
    second = scores(db, pid)
    assert (second["nn_sim"], second["decontam_overlap"], second["judge_score"]) == (0.4, 0.1, 0.8)
    first.pop("updated_at"), second.pop("updated_at")
    assert first == second and first["majority_share"] == pytest.approx(2 / 3)
    assert first["first_is_majority"] == 1


def test_many_problems_in_chunks(db: Database, verifier: Verifier) -> None:
    exp = add_experiment(db)
    ids = [
        add_problem(db, exp, [f"#### {i}", f"#### {i}.0", f"#### {i + 1}"], reference=str(i))
        for i in range(40)
    ]
    summary = score_experiment(db, exp, verifier=verifier, chunk=7)
    assert summary.problems == 40 and summary.positive == 80 and summary.negative == 40
    assert all(scores(db, pid)["reference_agrees"] == 1 for pid in ids)


def test_unknown_experiment(db: Database) -> None:
    with pytest.raises(FlamesError, match="no experiment called 'missing'"):
        score_experiment(db, "missing")


def test_prompts_and_judge_parsing() -> None:
    assert "Tom has 3 apples." in render_solver_prompt("Tom has 3 apples.")
    assert "\\boxed{}" in render_solver_prompt("x")
    assert "Tom has 3 apples." in render_judge_prompt("Tom has 3 apples.")
    assert parse_judge_score("Score: 8\nClear and solvable.") == 0.8
    assert parse_judge_score("score = 10/10") == 1.0
    assert parse_judge_score("7") == 0.7
    assert parse_judge_score("Score: 3/5") == 0.6
    assert parse_judge_score("I refuse") is None
    assert parse_judge_score("Score: 42") is None
    assert parse_judge_score(None) is None


class JudgeDouble:
    """Answers the judge prompt with a score that depends on the problem text."""

    model_id = "judge-double"

    def __init__(self) -> None:
        self.sent = 0

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion]]:
        for index, request in enumerate(requests):
            self.sent += 1
            assert request.messages is not None
            prompt = request.messages[-1][1]
            reply = (
                "I cannot rate this."
                if "garbled" in prompt
                else ("Score: 9\nClear." if "apples" in prompt else "Score: 2/10 - missing data")
            )
            yield index, Completion(reply, "stop", 10, 4)

    def close(self) -> None:
        pass


def test_judge_scores_go_through_the_engine(db: Database) -> None:
    exp = add_experiment(db)
    good = add_problem(db, exp, [], text="Tom has 3 apples and eats one. How many are left?")
    vague = add_problem(db, exp, [], text="How far is it?")
    broken = add_problem(db, exp, [], text="garbled ??")
    backend = JudgeDouble()
    engine = Engine(db, backend)
    assert judge_experiment(db, exp, engine) == 2
    assert scores(db, good)["judge_score"] == 0.9
    assert scores(db, vague)["judge_score"] == 0.2
    assert scores(db, broken)["judge_score"] is None
    sent = backend.sent
    # A rerun asks only about the problem without a score, and the engine answers it from cache.
    assert judge_experiment(db, exp, engine) == 0
    assert backend.sent == sent
