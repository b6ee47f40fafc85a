"""Solving and judging through the engine with a scripted teacher: storage, resume, signals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlite_utils import Database

from pipeline.experiments.store import create_experiment
from pipeline.llm.backend import Completion
from pipeline.llm.request import Request
from pipeline.solving.judge import judge
from pipeline.solving.teacher import solve
from storage.templates import add_template_version


class Teacher:
    """Answers 42 on samples 0 and 1 and 7 on sample 2; the judge says 8/10."""

    model_id = "teacher-double"

    def __init__(self) -> None:
        self.sent: list[Request] = []

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        for index, request in enumerate(requests):
            self.sent.append(request)
            assert request.messages is not None
            content = request.messages[-1][1]
            if "Score:" in content:
                text = "Score: 8\nClear and self-contained."
            else:
                answer = "7" if request.sample_index == 2 else "42"
                text = f"Step 1: think.\nSo the answer is \\boxed{{{answer}}}"
            yield index, Completion(text, "stop", 10, 10)

    def close(self) -> None:
        pass


def _experiment_with_problems(db: Database, count: int) -> None:
    created = create_experiment(db, "exp", preset="quickstart")
    for index in range(count):
        db.execute(
            "INSERT INTO problems (experiment_id, strategy, text, reference_answer, answer_rule)"
            " VALUES (?, 'paraphrase', ?, ?, 'keeps')",
            [
                created.experiment_id,
                f"Problem {index}: what is 6 times 7?",
                "42" if index % 2 == 0 else "41",
            ],
        )
    db.execute(
        "INSERT INTO problems (experiment_id, strategy, text, status, reject_reason)"
        " VALUES (?, 'paraphrase', '', 'rejected', 'empty')",
        [created.experiment_id],
    )


def test_solve_stores_k_solutions_with_answers_and_labels(db: Database) -> None:
    _experiment_with_problems(db, 4)
    teacher = Teacher()
    report = solve(db, "exp", k=3, backend=teacher)
    assert (report.problems, report.requested, report.stored, report.failed) == (4, 12, 12, 0)
    rows = db.execute(
        "SELECT extracted_answer, extract_rule, verdict, label FROM solutions"
        " ORDER BY problem_id, sample_index"
    ).fetchall()
    assert rows[0] == ("42", "boxed", "correct", 1)
    assert rows[2] == ("7", "boxed", "incorrect", 0)
    assert rows[3][2:] == ("incorrect", 0)  # problem 1's reference is 41
    scores = db.execute(
        "SELECT n_solutions, n_groups, majority_answer, all_agree,"
        " reference_agrees FROM scores ORDER BY problem_id"
    ).fetchall()
    assert scores[0] == (3, 2, "42", 0, 1)
    assert scores[1][4] == 0


def test_solve_resumes_without_resending(db: Database) -> None:
    _experiment_with_problems(db, 3)
    first = Teacher()
    solve(db, "exp", k=2, backend=first)
    assert len(first.sent) == 6
    again = Teacher()
    report = solve(db, "exp", k=2, backend=again)
    assert again.sent == [] and report.stored == 0 and report.already == 6
    more = Teacher()
    report = solve(db, "exp", k=3, backend=more)
    # Raising k asks only for the new samples; the cached ones are not sent again.
    assert [r.sample_index for r in more.sent] == [2, 2, 2]
    assert report.stored == 3


def test_edited_solver_template_is_used(db: Database) -> None:
    _experiment_with_problems(db, 1)
    from pipeline.solving.teacher import solver_template

    body, version = solver_template(db)
    add_template_version(db, "solver", "solve", "Custom solver. " + body, note="edit")
    teacher = Teacher()
    solve(db, "exp", k=1, backend=teacher)
    assert teacher.sent[0].messages is not None
    assert teacher.sent[0].messages[-1][1].startswith("Custom solver.")
    assert solver_template(db)[1] == version + 1


def test_judge_scores_are_stored(db: Database) -> None:
    _experiment_with_problems(db, 2)
    report = judge(db, "exp", backend=Teacher())
    assert (report.problems, report.scored) == (2, 2)
    values = [row[0] for row in db.execute("SELECT judge_score FROM scores").fetchall()]
    assert values == [0.8, 0.8]
