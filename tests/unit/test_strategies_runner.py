"""Each strategy end to end with a scripted backend: wiring, parsing, answer rule, provenance."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.generation.generate import generate
from pipeline.llm.request import Request
from pipeline.strategies import STRATEGIES, STRATEGY_NAMES
from tests.unit.strategy_doubles import SEEDS, RecordingTrainer, ScriptedBackend, workspace


def seed_in(prompt: str) -> str:
    """The seed question quoted in `prompt` (or the first seed)."""
    return next((s["question"] for s in SEEDS if s["question"] in prompt), SEEDS[0]["question"])


def answer_of(question: str) -> str:
    return next(s.get("answer", "") for s in SEEDS if s["question"] == question)


def statement_in(prompt: str) -> str:
    return prompt.split("statement of facts:\n\n", 1)[1].split("\n\nWrite a math problem", 1)[0]


def good_reply(prompt: str, _: Request) -> str:
    """A well-formed reply for whichever default template `prompt` came from."""
    seed = seed_in(prompt)
    numbers = re.findall(r"\d+", seed)
    if "inspired by the given one" in prompt:
        return "<problem>Ann has 5 pens and gives away 2. How many are left?</problem>"
    if "in different words" in prompt:
        return f"<problem>Here it is reworded: {seed}</problem>"
    if "name the mathematical ideas" in prompt:
        return "<concepts>\naddition\ncounting\n</concepts>"
    if "planning a math exercise" in prompt:
        return "<key_concepts>\nchain rule\nproduct rule\n</key_concepts>"
    if "suggest how to make them more challenging" in prompt:
        return "<suggestions>\n- ask for a percentage instead\n</suggestions>"
    if "hidden intermediate step" in prompt:
        return (
            "<problem>Composed: a harder problem that needs the earlier result first.</problem>"
            "<solution>First the hidden step, then one more.</solution><answer>7</answer>"
        )
    if "Solve the following math problem" in prompt:
        return "The hidden step gives a value; one more step gives $\\boxed{7}$."
    if "as a statement of facts" in prompt:
        return f"<statement>{seed.rstrip('?')}: the answer is {answer_of(seed)}.</statement>"
    if "except the number" in prompt:
        target = re.search(r"except the number (\S+), and", prompt)
        assert target is not None
        hidden = statement_in(prompt).replace(target.group(1), "some", 1)
        return f"<problem>{hidden} What number is 'some'?</problem>"
    if "Turn it around" in prompt:
        return (
            f"<problem>Reversed: the result is {answer_of(seed)}; find the first given.</problem>"
            f"<answer>{numbers[0]}</answer>"
        )
    if "replace it with the unknown variable x" in prompt:
        masked = seed.replace(numbers[0], "x", 1)
        return f"<problem>{masked}</problem><masked>{numbers[0]}</masked>"
    if "sentences of extra detail" in prompt:
        return f"<problem>{seed} His neighbour owns 4 dogs and a red bicycle.</problem>"
    if prompt == "Write a new math problem.":  # a QFT model's minimal prompt: a bare question
        return "What is the largest prime factor of 391?"
    return "<problem>A brand new problem: what is 17 times 3 plus one?</problem>"


def rows(db: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    cursor = db.execute(sql, list(args))
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_each_strategy_produces_problems_with_full_provenance(tmp_path: Path, name: str) -> None:
    strategy = STRATEGIES[name]
    db, exp = workspace(tmp_path, {name: {"budget": 2}})
    backend = ScriptedBackend(good_reply)
    [report] = generate(db, exp, backend=backend, trainer=RecordingTrainer())
    assert (report.requested, report.produced, report.rejected_total) == (2, 2, 0)
    problems = rows(db, "SELECT * FROM problems WHERE strategy = ?", name)
    assert len(problems) == 2
    steps = strategy.schedule(strategy.defaults())
    for p in problems:
        assert p["status"] == "ok" and p["text"] and p["model"] == "scripted-model"
        assert p["answer_rule"] == strategy.answer_rule
        assert json.loads(p["template_version"]) == {s.name: 1 for s in strategy.template_stages()}
        params = json.loads(p["params_json"])
        assert params["strategy"] == strategy.defaults()
        assert params["sampling"]["max_new_tokens"] == 64
        outputs = rows(db, "SELECT * FROM stage_outputs WHERE problem_id = ? ORDER BY id", p["id"])
        # an IQC slot keeps iteration `item` and runs no later round
        ran = [
            (s, r)
            for s, r in steps
            if strategy.yields != "each_round" or r <= params["inputs"]["item"]
        ]
        assert [(o["stage"], o["round"]) for o in outputs] == [(s.name, r) for s, r in ran]
        keys = [o["request_key"] for o in outputs if o["request_key"]]
        assert json.loads(p["request_keys"]) == keys
        assert len(keys) == sum(1 for s, _ in ran if s.kind == "llm")
        for key in keys:
            assert rows(db, "SELECT status FROM requests WHERE key = ?", key) == [
                {"status": "done"}
            ]
        if strategy.inputs in ("taxonomy", "none", "seed_questions"):
            assert p["seed_id"] is None
            assert (p["taxonomy_node"] is not None) == (strategy.inputs == "taxonomy")
        else:
            assert p["seed_id"] is not None
        if strategy.answer_rule == "none":
            assert p["reference_answer"] is None


def _problem(db: Any, name: str) -> dict[str, Any]:
    return rows(db, "SELECT * FROM problems WHERE strategy = ? ORDER BY id", name)[0]


def _seed(db: Any, seed_id: int) -> dict[str, Any]:
    return rows(db, "SELECT * FROM seeds WHERE id = ?", seed_id)[0]


def test_keeping_strategies_store_the_seed_answer(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path, {"paraphrase": {"budget": 1}, "distraction_insertion": {"budget": 1}}
    )
    generate(db, exp, backend=ScriptedBackend(good_reply))
    for name in ("paraphrase", "distraction_insertion"):
        p = _problem(db, name)
        assert p["reference_answer"] == _seed(db, p["seed_id"])["answer"]


def test_deriving_strategies_store_the_masked_given(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"fobar": {"budget": 2}, "self_verification": {"budget": 2}})
    generate(db, exp, backend=ScriptedBackend(good_reply))
    for name in ("fobar", "self_verification"):
        for p in rows(db, "SELECT * FROM problems WHERE strategy = ?", name):
            seed = _seed(db, p["seed_id"])
            assert seed["answer"], "strategies needing an answer skip seeds without one"
            assert p["reference_answer"] == re.findall(r"\d+", seed["question"])[0]
    fobar = _problem(db, "fobar")
    assert "value of the unknown variable x" in fobar["text"]
    assert _seed(db, fobar["seed_id"])["answer"] in fobar["text"]


def test_loops_feed_each_round_the_previous_output(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"suggester_editor": {"budget": 1, "params": {"rounds": 2}}})
    edits = iter(
        [
            "<problem>Edited once: a much harder problem.</problem>",
            "<problem>Edited twice: an even harder problem.</problem>",
        ]
    )

    def script(prompt: str, request: Request) -> str:
        if "applying the suggested changes" in prompt:
            return next(edits)
        return good_reply(prompt, request)

    backend = ScriptedBackend(script)
    generate(db, exp, backend=backend)
    suggests = [p for p in backend.prompts if "more challenging" in p]
    assert len(suggests) == 2 and "Edited once" in suggests[1]
    assert all("ask for a percentage" in p for p in backend.prompts if "suggested changes" in p)
    assert _problem(db, "suggester_editor")["text"] == "Edited twice: an even harder problem."


def test_key_concepts_hide_the_seed_and_seeded_shows_it(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path, {"key_concepts": {"budget": 1}, "seeded_key_concepts": {"budget": 1}}
    )
    backend = ScriptedBackend(good_reply)
    generate(db, exp, strategy="key_concepts", backend=backend)
    write = [p for p in backend.prompts if "using these concepts" in p]
    assert len(write) == 1 and "addition" in write[0]
    assert not any(s["question"] in write[0] for s in SEEDS)
    generate(db, exp, strategy="seeded_key_concepts", backend=backend)
    write = [p for p in backend.prompts if "tests the same concepts" in p]
    assert any(s["question"] in write[0] for s in SEEDS) and "addition" in write[0]


def test_taxonomy_prompts_name_the_picked_topic(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path,
        {
            "taxonomy_key_concepts": {
                "budget": 2,
                "params": {"subjects": ["calculus"], "concepts_per_problem": 1},
            }
        },
    )
    backend = ScriptedBackend(good_reply)
    generate(db, exp, backend=backend)
    expand = [p for p in backend.prompts if "planning a math exercise" in p]
    assert len(expand) == 2 and all("Calculus" in p for p in expand)
    nodes = [p["taxonomy_node"] for p in rows(db, "SELECT taxonomy_node FROM problems")]
    assert all(n.startswith("calculus/") for n in nodes)
