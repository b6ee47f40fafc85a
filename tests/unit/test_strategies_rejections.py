"""Malformed, hostile and failed replies: stored with their reason, never dropped; reruns resume."""

from __future__ import annotations

from pathlib import Path

from pipeline.generation.generate import generate
from pipeline.llm.backend import Completion
from pipeline.llm.request import Request
from tests.unit.strategy_doubles import ScriptedBackend, workspace
from tests.unit.test_strategies_runner import good_reply, rows, seed_in


def test_each_bad_reply_is_stored_as_rejected_with_its_reason(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 6}})
    replies = [
        "",
        "I'm sorry, I can't help with that.",
        "<problem>Half a problem with 3",
        "No tags at all, just a problem about 4 cats.",
        "<problem>One good problem about 9 owls.</problem><problem>Two</problem>",
        "<problem>A fine problem: what is 6 times 7?</problem>",
    ]

    def script(_: str, request: Request) -> str | Completion:
        text = replies[request.sample_index]
        return Completion(text, "length" if request.sample_index == 2 else "stop", 5, 5)

    [report] = generate(db, exp, backend=ScriptedBackend(script))
    assert report.produced == 1
    assert dict(report.rejected) == {
        "empty": 1,
        "refusal": 1,
        "truncated": 1,
        "missing_section:problem": 1,
        "duplicate_section:problem": 1,
    }
    stored = rows(db, "SELECT status, reject_reason FROM problems ORDER BY slot_key")
    assert len(stored) == 6 and sum(r["status"] == "rejected" for r in stored) == 5


def test_copies_changed_numbers_and_bad_masks_are_rejected(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path,
        {
            "paraphrase": {"budget": 1},
            "fobar": {"budget": 1},
            "self_verification": {"budget": 1},
            "distraction_insertion": {"budget": 1},
            "iqc": {"budget": 1, "params": {"iterations": 1}},
        },
    )

    def script(prompt: str, request: Request) -> str:
        seed = seed_in(prompt)
        if "in different words" in prompt:
            return "<problem>Some other problem with 1000 apples entirely.</problem>"
        if "unknown variable x" in prompt:
            return "<problem>No unknown here at all, sorry.</problem><masked>99999</masked>"
        if "Turn it around" in prompt:
            return "<problem>Reversed problem text here.</problem><answer>31337</answer>"
        if "extra detail" in prompt:
            return f"<problem>{seed}</problem>"
        if "hidden intermediate step" in prompt:
            return f"<problem>{seed.upper()}</problem><solution>s</solution><answer>7</answer>"
        return good_reply(prompt, request)

    reports = {r.strategy: r for r in generate(db, exp, backend=ScriptedBackend(script))}
    assert dict(reports["paraphrase"].rejected) == {"invalid:changed_numbers": 1}
    assert dict(reports["fobar"].rejected) == {"invalid:masked_not_in_seed": 1}
    assert dict(reports["self_verification"].rejected) == {"invalid:answer_not_a_given": 1}
    assert dict(reports["distraction_insertion"].rejected) == {"copied_seed": 1}
    assert dict(reports["iqc"].rejected) == {"copied_seed": 1}
    assert all(r["reference_answer"] is None for r in rows(db, "SELECT * FROM problems"))


def test_model_output_cannot_inject_template_variables(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"suggester_editor": {"budget": 1, "params": {"rounds": 1}}})
    hostile = "<suggestions>{{seed_answer}} {{ seed_solution }} {__import__('os')}</suggestions>"

    def script(prompt: str, request: Request) -> str:
        if "more challenging" in prompt:
            return hostile
        return good_reply(prompt, request)

    backend = ScriptedBackend(script)
    generate(db, exp, backend=backend)
    edit = [p for p in backend.prompts if "suggested changes" in p][0]
    assert "{{seed_answer}} {{ seed_solution }} {__import__('os')}" in edit


def test_failed_requests_are_not_stored_and_a_rerun_retries_them(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 3}})

    def flaky(prompt: str, request: Request) -> str | Exception:
        if request.sample_index == 1:
            return RuntimeError("server said 500")
        return good_reply(prompt, request)

    [report] = generate(db, exp, backend=ScriptedBackend(flaky))
    assert (report.produced, report.failed) == (2, 1)
    assert rows(db, "SELECT COUNT(*) AS n FROM problems") == [{"n": 2}]
    [report] = generate(db, exp, backend=ScriptedBackend(good_reply))
    assert (report.produced, report.failed, report.resumed) == (3, 0, 2)


def test_a_rerun_sends_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path, {"suggester_editor": {"budget": 4}, "zero_shot_generation": {"budget": 2}}
    )
    first = ScriptedBackend(good_reply)
    generate(db, exp, backend=first, chunk_size=3)
    again = ScriptedBackend(good_reply)
    reports = generate(db, exp, backend=again)
    assert again.prompts == []
    assert [(r.requested, r.produced, r.resumed) for r in reports] == [(4, 4, 4), (2, 2, 2)]
    assert rows(db, "SELECT COUNT(*) AS n FROM problems") == [{"n": 6}]


def test_limit_runs_a_prefix_that_the_full_run_extends(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"distraction_insertion": {"budget": 4}})
    [report] = generate(db, exp, limit=2, backend=ScriptedBackend(good_reply))
    assert report.requested == 2
    first = [r["slot_key"] for r in rows(db, "SELECT slot_key FROM problems ORDER BY id")]
    [report] = generate(db, exp, backend=ScriptedBackend(good_reply))
    assert (report.requested, report.resumed) == (4, 2)
    keys = [r["slot_key"] for r in rows(db, "SELECT slot_key FROM problems ORDER BY id")]
    assert keys[:2] == first and len(set(keys)) == 4


def test_the_same_experiment_seed_gives_the_same_plan(tmp_path: Path) -> None:
    plans = []
    for sub, seed in (("a", 3), ("b", 3), ("c", 4)):
        (tmp_path / sub).mkdir()
        db, exp = workspace(tmp_path / sub, {"paraphrase": {"budget": 5}}, seed=seed)
        generate(db, exp, backend=ScriptedBackend(good_reply))
        plans.append([r["slot_key"] for r in rows(db, "SELECT slot_key FROM problems ORDER BY id")])
    assert plans[0] == plans[1]
    assert plans[0] != plans[2]


def test_reparse_updates_rows_in_place_from_the_cache(tmp_path: Path) -> None:
    db, exp = workspace(tmp_path, {"zero_shot_generation": {"budget": 2}})
    generate(db, exp, backend=ScriptedBackend(good_reply))
    before = rows(db, "SELECT id, status FROM problems ORDER BY id")
    db.execute("UPDATE problems SET status = 'rejected', reject_reason = 'stale'")
    db.execute("DELETE FROM stage_outputs")
    cached = ScriptedBackend(good_reply)
    [report] = generate(db, exp, backend=cached, reparse=True)
    assert cached.prompts == []  # every call answered from the request cache
    assert (report.produced, report.resumed) == (2, 0)
    assert rows(db, "SELECT id, status FROM problems ORDER BY id") == before
    assert rows(db, "SELECT COUNT(*) AS n FROM stage_outputs") == [{"n": 2}]


def test_accept_untagged_is_recorded_in_the_stage_output(tmp_path: Path) -> None:
    db, exp = workspace(
        tmp_path, {"zero_shot_generation": {"budget": 1, "params": {"accept_untagged": True}}}
    )
    reply = "Problem:\nA tank holds 40 litres and leaks 3 litres an hour. When is it empty?"
    [report] = generate(db, exp, backend=ScriptedBackend(lambda p, r: reply))
    assert report.produced == 1
    [p] = rows(db, "SELECT text FROM problems")
    assert p["text"].startswith("A tank holds 40 litres")
    [o] = rows(db, "SELECT parsed_json FROM stage_outputs")
    assert '"untagged": true' in o["parsed_json"]
