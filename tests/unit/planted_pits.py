"""A scripted student whose rollouts go wrong exactly from a planted step onward.

A problem reads "Problem N: plant=C answer=A". Its traces are lines "Step i: ..." ending in
a wrong boxed answer. Continuing a prefix of fewer than C lines reaches \\boxed{A}; a prefix
of C lines or more (or C = 0, even the empty prefix) ends in a wrong answer. So Q(i) = 1 for
i < C and 0 from C on: the critical step is C, and Q(0) = 0 when C = 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.llm.backend import Completion
from pipeline.llm.request import Request

_PLANT = re.compile(r"plant=(\d+) answer=(-?\d+)")
TRACE_SEED = 0  # the [datasets] sampling seed: fresh samples with it are trace samples


def problem(n: int, plant: int, answer: int = 42) -> str:
    return f"Problem {n}: plant={plant} answer={answer}"


def trace(steps: int, answer: int = 42) -> str:
    """An incorrect trace of `steps` lines, the last one boxing a wrong answer."""
    lines = [f"Step {i}: we work out part {i} of the sum." for i in range(1, steps)]
    lines.append(f"Step {steps}: so the total is \\boxed{{{answer + 1}}}.")
    return "\n".join(lines)


def planted(question: str) -> tuple[int, int]:
    """(planted step, right answer) of a problem."""
    found = _PLANT.search(question)
    assert found, question
    return int(found.group(1)), int(found.group(2))


def fresh_sample(question: str, index: int) -> str:
    """A mixed student's fresh solution: even samples right, odd ones incorrect traces.

    Right ones come in pairs that differ only in case (normalised duplicates): samples 0 and
    2 are one solution, 4 and 6 another. Wrong ones have `plant + 2` lines, so their
    critical step is the planted one.
    """
    plant, answer = planted(question)
    if index % 2:
        return trace(plant + 2, answer)
    text = (
        f"Step 1: add the parts by method {index // 4}.\nStep 2: the total is \\boxed{{{answer}}}."
    )
    return text.upper().replace("\\BOXED", "\\boxed") if index % 4 == 2 else text


def continuation(question: str, prefix: str | None) -> str:
    """What the scripted student writes after `prefix` (None: a fresh answer)."""
    plant, answer = planted(question)
    kept = len([line for line in (prefix or "").splitlines() if line.strip()])
    if prefix is None and plant == 0 or prefix is not None and kept >= plant:
        return f"\nStep {kept + 1}: that gives \\boxed{{{answer - 1}}}."
    return f"\nStep {kept + 1}: finishing up, \\boxed{{{answer}}}."


def respond(body: dict[str, Any]) -> str:
    """A loopback-server responder (chat completions) playing the same student."""
    messages = body["messages"]
    question = next(m["content"] for m in messages if m["role"] == "user")
    prefix = messages[-1]["content"] if body.get("continue_final_message") else None
    return continuation(question, prefix)


class PlantedBackend:
    """A backend double answering with `continuation`; records what it was sent."""

    def __init__(
        self, model_id: str = "student", *, crash_after: int | None = None, mixed: bool = False
    ) -> None:
        self.model_id = model_id
        self.mixed = mixed  # fresh samples: `fresh_sample` (trace sampling), not `continuation`
        self.batch_size = 16
        self.crash_after = crash_after
        self.sent: list[Request] = []

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        for index, request in enumerate(requests):
            if self.crash_after is not None and len(self.sent) >= self.crash_after:
                raise KeyboardInterrupt("scripted kill")
            self.sent.append(request)
            assert request.messages is not None
            question = request.messages[0][1]
            prefix = request.messages[-1][1] if request.continue_final else None
            if self.mixed and prefix is None and request.params.seed == TRACE_SEED:
                text = fresh_sample(question, request.sample_index)
            else:
                text = continuation(question, prefix)
            yield index, Completion(text, "stop", 10, 5)

    def close(self) -> None:
        pass


EXPERIMENT_TOML = """
[experiment]
name = "negatives"
seed = 3

[filter]
policy = "first"

[training]
rollouts_k = 3

[datasets]
samples = 8
rft_keep = 4
dpo_pairs = 2
step_traces = 2
step_split = "lines"
"""

# (strategy, answer rule, planted step): paraphrase keeps the seed's answer (a reference);
# iqc has none, so its traces are graded against the teacher majority.
PROBLEMS = [("paraphrase", "keeps", 1), ("paraphrase", "keeps", 2), ("iqc", "none", 3)]


def build_experiment(db: Database, path: Path, toml: str = EXPERIMENT_TOML) -> list[int]:
    """An experiment with solved, scored problems whose students follow `fresh_sample`."""
    from pipeline.experiments.store import create_experiment

    config = path / "negatives.toml"
    config.write_text(toml)
    experiment_id = create_experiment(db, "negatives", config_path=config).experiment_id
    ids = []
    with db.conn:
        for n, (strategy, rule, plant) in enumerate(PROBLEMS):
            reference = "42" if rule == "keeps" else None
            cursor = db.execute(
                "INSERT INTO problems (experiment_id, strategy, text, reference_answer, "
                "answer_rule, slot_key) VALUES (?, ?, ?, ?, ?, ?)",
                [experiment_id, strategy, problem(n, plant), reference, rule, f"slot{n}"],
            )
            pid = int(cursor.lastrowid or 0)
            ids.append(pid)
            db.execute(
                "INSERT INTO solutions (problem_id, model, sample_index, text, extracted_answer, "
                "extract_rule, verdict, label, finish_reason) VALUES "
                "(?, 'teacher', 0, 'Teacher: \\boxed{42}', '42', 'boxed', 'correct', 1, 'stop')",
                [pid],
            )
            db.execute(
                "INSERT INTO scores (problem_id, n_solutions, n_groups, majority_answer, "
                "majority_share, first_answer, first_is_majority, all_agree) "
                "VALUES (?, 1, 1, '42', 1.0, '42', 1, 1)",
                [pid],
            )
    return ids
