"""The strategies that follow their papers: what each stage's prompt gets, what is kept.

IQC (MMIQC), Ask Me Anything (Orca-Math), few-shot (OpenMathInstruct-2) and QFT
(ScaleQuest) with a scripted model; see each definition's `note` for the departures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pipeline.generation.generate import generate
from pipeline.llm.request import Request
from pipeline.strategies.prompts import default_templates
from tests.unit.strategy_doubles import SEEDS, RecordingTrainer, ScriptedBackend, workspace
from tests.unit.test_strategies_runner import good_reply, rows, seed_in

TOM = SEEDS[0]  # "Tom has 12 apples and buys 7 more. How many apples does he have?" -> 19


def problems(db: Any, strategy: str) -> list[dict[str, Any]]:
    found = rows(db, "SELECT * FROM problems WHERE strategy = ? ORDER BY slot_key", strategy)
    for p in found:
        p["inputs"] = json.loads(p["params_json"])["inputs"]
    return found


def outputs(db: Any, problem_id: int) -> list[dict[str, Any]]:
    found = rows(db, "SELECT * FROM stage_outputs WHERE problem_id = ? ORDER BY id", problem_id)
    for o in found:
        o["parsed"] = json.loads(o["parsed_json"])
    return found


# -- few-shot --------------------------------------------------------------------------
def test_few_shot_shows_one_seed_after_the_same_fixed_examples(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"few_shot": {"budget": 3}})
    backend = ScriptedBackend(good_reply)
    generate(db, exp, backend=backend)
    assert len(backend.prompts) == 3
    examples = default_templates()["few_shot"]["write"].split("{{seed_question}}")[0]
    for prompt in backend.prompts:
        assert prompt.startswith(examples)  # the fixed worked examples, identical every time
        assert sum(s["question"] in prompt for s in SEEDS) == 1  # one seed, never k of them
    shown = {seed_in(p) for p in backend.prompts}
    stored = {p["seed_id"] for p in problems(db, "few_shot")}
    assert len(shown) == len(stored) == 3


# -- IQC -------------------------------------------------------------------------------
def iqc_script(answers: list[str], *, leak_round: int | None = None) -> Any:
    """Composer replies per round (answer i in round i), a checker that re-derives them."""

    def script(prompt: str, request: Request) -> str:
        if "hidden intermediate step" in prompt:
            before = [int(n) for n in re.findall(r"Composed round (\d)", prompt)]
            round_ = max(before, default=0) + 1
            text = f"Composed round {round_}: a problem that needs the earlier result first."
            if round_ == leak_round:
                previous = answers[round_ - 2] if round_ > 1 else TOM["answer"]
                text += f" (Recall that the earlier result is {previous}.)"
            return (
                f"<problem>{text}</problem><solution>Worked solution {round_}.</solution>"
                f"<answer>{answers[round_ - 1]}</answer>"
            )
        if "Solve the following math problem" in prompt:
            round_ = int(re.search(r"Composed round (\d)", prompt).group(1))  # type: ignore[union-attr]
            return f"Step by step ... so the result is $\\boxed{{{int(answers[round_ - 1])}}}$."
        return good_reply(prompt, request)

    return script


def test_iqc_keeps_every_checked_iteration_with_its_number(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path,
        {"iqc": {"budget": 3, "params": {"iterations": 3}}},
        seed_sets={"one": [{**TOM, "solution": "12 + 7 = 19 apples."}]},
    )
    backend = ScriptedBackend(iqc_script(["31", "62", "70"]))
    [report] = generate(db, exp, backend=backend)
    assert (report.requested, report.produced, report.rejected_total) == (3, 3, 0)
    kept = problems(db, "iqc")
    assert [p["inputs"]["iteration"] for p in kept] == [1, 2, 3]
    assert [p["text"].split(":")[0] for p in kept] == [f"Composed round {i}" for i in (1, 2, 3)]
    assert [p["reference_answer"] for p in kept] == ["31", "62", "70"]  # checked answers
    assert {p["seed_id"] for p in kept} == {kept[0]["seed_id"]}
    # The stages each iteration ran, and the requests shared between the three slots.
    assert [(o["stage"], o["round"]) for o in outputs(db, kept[2]["id"])] == [
        ("compose", 0),
        ("check", 0),
        ("compose", 1),
        ("check", 1),
        ("compose", 2),
        ("check", 2),
    ]
    assert [(o["stage"], o["round"]) for o in outputs(db, kept[0]["id"])] == [
        ("compose", 0),
        ("check", 0),
    ]
    assert len(backend.prompts) == 6  # compose + check per round, sent once for all slots
    composes = [p for p in backend.prompts if "hidden intermediate step" in p]
    checks = [p for p in backend.prompts if "Solve the following" in p]
    # Round 1: the composer sees the seed, its solution and its answer.
    assert TOM["question"] in composes[0] and "12 + 7 = 19 apples." in composes[0]
    assert "Answer: 19" in composes[0]
    # Round 2 composes on round 1's problem, solution and checked answer, not on the seed.
    assert "Composed round 1" in composes[1] and "Worked solution 1." in composes[1]
    assert "Answer: 31" in composes[1] and TOM["question"] not in composes[1]
    # The checker sees the composed problem only: never the composer's solution or answer.
    assert "Composed round 1" in checks[0] and "Worked solution" not in checks[0]
    assert "31" not in checks[0]


def test_iqc_a_failed_check_ends_the_chain_but_keeps_earlier_iterations(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path,
        {"iqc": {"budget": 3, "params": {"iterations": 3}}},
        seed_sets={"one": [TOM]},
    )

    def script(prompt: str, request: Request) -> str:
        if "Solve the following" in prompt and "Composed round 2" in prompt:
            return "Working ... $\\boxed{61}$"  # disagrees with the composer's 62
        return iqc_script(["31", "62", "70"])(prompt, request)

    [report] = generate(db, exp, backend=ScriptedBackend(script))
    assert report.produced == 1 and dict(report.rejected) == {"invalid:check_disagrees": 2}
    kept = problems(db, "iqc")
    assert [(p["inputs"]["iteration"], p["status"]) for p in kept] == [
        (1, "ok"),
        (2, "rejected"),
        (3, "rejected"),
    ]
    # The third slot never composed a third round on a problem that failed its check.
    assert [o["stage"] for o in outputs(db, kept[2]["id"])] == ["compose", "check"] * 2


def test_iqc_may_not_state_the_hidden_sub_answer(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path, {"iqc": {"budget": 2, "params": {"iterations": 2}}}, seed_sets={"one": [TOM]}
    )
    backend = ScriptedBackend(iqc_script(["31", "62"], leak_round=2))
    [report] = generate(db, exp, backend=backend)
    assert report.produced == 1 and dict(report.rejected) == {"invalid:states_sub_answer": 1}
    leaked = problems(db, "iqc")[1]
    assert leaked["inputs"]["iteration"] == 2 and "earlier result is 31" in leaked["text"]


# -- Ask Me Anything -------------------------------------------------------------------
def test_ask_me_anything_writes_one_problem_per_number_with_it_as_the_answer(
    tmp_path: Path,
) -> None:
    db, exp = workspace(tmp_path, {"ask_me_anything": {"budget": 3}}, seed_sets={"one": [TOM]})
    backend = ScriptedBackend(good_reply)
    [report] = generate(db, exp, backend=backend)
    assert (report.produced, report.rejected_total) == (3, 0)
    made = problems(db, "ask_me_anything")
    assert [p["reference_answer"] for p in made] == ["12", "7", "19"]
    assert [p["inputs"]["target"] for p in made] == ["12", "7", "19"]
    assert [p["answer_rule"] for p in made] == ["derives"] * 3
    for p in made:  # each problem hides its own number and keeps the others
        numbers = re.findall(r"\d+", p["text"])
        assert p["reference_answer"] not in numbers and len(numbers) == 2
    states = [p for p in backend.prompts if "as a statement of facts" in p]
    asks = [p for p in backend.prompts if "except the number" in p]
    assert len(states) == 1  # one statement per seed, shared by its problems
    assert TOM["question"] in states[0] and "Answer: 19" in states[0]
    statement = f"{TOM['question'].rstrip('?')}: the answer is 19."
    assert [re.search(r"except the number (\d+)", p).group(1) for p in asks] == ["12", "7", "19"]  # type: ignore[union-attr]
    assert all(statement in p and TOM["question"] not in p.replace(statement, "") for p in asks)
    assert [o["stage"] for o in outputs(db, made[0]["id"])] == ["state", "ask"]


def test_ask_me_anything_rejects_a_statement_without_the_answer_and_a_leaked_number(
    tmp_path: Path,
) -> None:
    db, exp = workspace(tmp_path, {"ask_me_anything": {"budget": 6}}, seed_sets={"two": SEEDS[:2]})

    def script(prompt: str, request: Request) -> str:
        if "as a statement of facts" in prompt and "Tom has" in prompt:
            return "<statement>Tom has 12 apples and buys 7 more.</statement>"
        if "except the number" in prompt and "train" in prompt:
            return "<problem>A train travels 60 km per hour for 3 hours, 180 km. Check?</problem>"
        return good_reply(prompt, request)

    reports = generate(db, exp, backend=ScriptedBackend(script))
    rejected = reports[0].rejected
    assert rejected["invalid:answer_not_in_statement"] >= 1
    assert rejected["invalid:answer_in_problem"] >= 1
    assert all(
        p["reference_answer"] is None
        for p in rows(db, "SELECT * FROM problems WHERE status = 'rejected'")
    )


# -- self-verification -----------------------------------------------------------------
def test_self_verification_rejects_a_masked_number_that_is_still_given(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"self_verification": {"budget": 1}}, seed_sets={"one": [TOM]})

    def script(prompt: str, request: Request) -> str:
        if "Turn it around" in prompt:
            return (
                "<problem>Tom has 12 apples, buys some more and has 19. How many did he buy "
                "if he started with 12?</problem><answer>12</answer>"
            )
        return good_reply(prompt, request)

    [report] = generate(db, exp, backend=ScriptedBackend(script))
    assert dict(report.rejected) == {"invalid:masked_number_still_given": 1}


# -- QFT -------------------------------------------------------------------------------
def test_qft_trains_on_seed_questions_only_then_samples_with_the_minimal_prompt(
    tmp_path: Path,
) -> None:
    db, exp = workspace(tmp_path, {"qft": {"budget": 3, "params": {"epochs": 2.0}}})
    trainer, backend = RecordingTrainer(), ScriptedBackend(good_reply)
    [report] = generate(db, exp, backend=backend, trainer=trainer)
    assert report.produced == 3
    [job] = trainer.jobs
    assert sorted(job.questions) == sorted(s["question"] for s in SEEDS)  # questions only
    assert not any(s.get("answer", "") and s["answer"] in job.prompt for s in SEEDS)
    assert job.prompt == "Write a new math problem." and dict(job.params) == {
        "epochs": 2.0,
        "learning_rate": 1e-5,
        "lora": True,
    }
    assert job.base_model.model == "embedded:smollm2-135m-instruct"  # the teacher by default
    assert backend.prompts == ["Write a new math problem."] * 3  # no seed in the prompt
    made = problems(db, "qft")
    assert all(p["seed_id"] is None and p["text"].startswith("What is") for p in made)
    finetune = outputs(db, made[0]["id"])[0]
    assert finetune["stage"] == "finetune" and finetune["request_key"] is None
    assert len({p["inputs"]["sample_index"] for p in made}) == 3
    marker = json.loads((job.out / "flames-qft.json").read_text())
    assert marker["questions"] == len(SEEDS) and marker["model"] == str(job.out / "model")


def test_qft_model_is_cached_per_base_model_questions_and_params(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"qft": {"budget": 2}})
    trainer = RecordingTrainer()
    generate(db, exp, backend=ScriptedBackend(good_reply), trainer=trainer)
    generate(db, exp, backend=ScriptedBackend(good_reply), trainer=trainer, reparse=True)
    assert len(trainer.jobs) == 1  # the second run reused the cached model
    from dataclasses import replace

    from pipeline.experiments.store import load_experiment, save_experiment

    config = load_experiment(db, exp)
    changed = replace(config.strategies["qft"], params={"lora": False})
    save_experiment(db, replace(config, strategies={"qft": changed}))
    generate(db, exp, backend=ScriptedBackend(good_reply), trainer=trainer, reparse=True)
    assert len(trainer.jobs) == 2 and trainer.jobs[0].out != trainer.jobs[1].out
    assert (tmp_path / "flames-models").is_dir()


def test_zero_shot_generation_is_seedless_and_trains_nothing(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 2}})
    trainer, backend = RecordingTrainer(), ScriptedBackend(good_reply)
    [report] = generate(db, exp, backend=backend, trainer=trainer)
    assert report.produced == 2 and trainer.jobs == []
    assert all("Write one original math problem" in p for p in backend.prompts)
