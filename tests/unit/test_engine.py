"""The engine with a scripted backend: cache hits, dedup, n expansion, failures, kills."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlite_utils import Database

from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.progress import ProgressEvent
from storage.requests import count_by_status, fetch_states
from tests.unit.llm_doubles import ScriptedBackend, answer_for

PARAMS = SamplingParams(max_new_tokens=8, seed=7)


def prompts(count: int, params: SamplingParams = PARAMS) -> list[Request]:
    return [Request(prompt=f"prompt {i}", params=params) for i in range(count)]


def rows(db: Database) -> list[dict[str, object]]:
    return list(db.query("SELECT * FROM requests ORDER BY key"))


def test_first_run_sends_all_and_second_run_none(db: Database) -> None:
    backend = ScriptedBackend()
    first = Engine(db, backend).run(prompts(20))
    assert len(backend.sent) == 20
    assert [r.text for r in first] == [answer_for("double", f"prompt {i}", 0, 7) for i in range(20)]
    assert not any(r.cached for r in first)

    again = ScriptedBackend()
    second = Engine(db, again).run(prompts(20))
    assert again.sent == []
    assert [r.text for r in second] == [r.text for r in first]
    assert all(r.cached for r in second)
    assert count_by_status(db) == {"pending": 0, "done": 20, "failed": 0}


def test_rows_record_tokens_latency_and_raw_text(db: Database) -> None:
    Engine(db, ScriptedBackend()).run([Request(messages=(("user", "hello"),), params=PARAMS)])
    (row,) = rows(db)
    assert row["status"] == "done" and row["attempts"] == 1
    assert row["model"] == "double" and row["sample_index"] == 0
    assert row["prompt"] == '[{"role": "user", "content": "hello"}]'
    assert row["response"] == answer_for("double", "hello", 0, 7)
    assert row["prompt_tokens"] == 5 and row["completion_tokens"] == 1
    assert isinstance(row["latency_s"], float) and row["completed_at"]


def test_duplicates_in_one_call_are_sent_once_and_returned_in_order(db: Database) -> None:
    backend = ScriptedBackend()
    batch = [Request(prompt="a"), Request(prompt="b"), Request(prompt="a"), Request(prompt="a")]
    results = Engine(db, backend).run(batch)
    assert sorted(r.prompt or "" for r in backend.sent) == ["a", "b"]
    assert [r.text.split("|")[1] for r in results if r.text] == ["a", "b", "a", "a"]
    assert results[0].key == results[2].key == results[3].key != results[1].key
    assert len(rows(db)) == 2


def test_n_expands_into_samples_and_more_samples_reuse_the_first(db: Database) -> None:
    backend = ScriptedBackend()
    three = Engine(db, backend).run([Request(prompt="q", params=replace(PARAMS, n=3))])
    assert [r.sample_index for r in three] == [0, 1, 2]
    assert len({r.key for r in three}) == 3
    assert [r.text for r in three] == [answer_for("double", "q", i, 7 + i) for i in range(3)]
    more = ScriptedBackend()
    five = Engine(db, more).run([Request(prompt="q", params=replace(PARAMS, n=5))])
    assert sorted(r.sample_index for r in more.sent) == [3, 4]
    assert [r.key for r in five[:3]] == [r.key for r in three]


def test_key_covers_model_prompt_params_and_sample_but_not_n() -> None:
    base = Request(prompt="p", params=PARAMS)
    key = base.key("m")
    assert key == Request(prompt="p", params=PARAMS).key("m")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != base.key("other")
    assert key != Request(prompt="p2", params=PARAMS).key("m")
    assert key != Request(prompt="p", params=replace(PARAMS, temperature=0.1)).key("m")
    assert key != Request(prompt="p", params=replace(PARAMS, stop=("x",))).key("m")
    assert key != replace(base, sample_index=1).key("m")
    assert key == Request(prompt="p", params=replace(PARAMS, n=4)).key("m")
    assert key != Request(messages=(("user", "p"),), params=PARAMS).key("m")
    with pytest.raises(ValueError):
        Request()


def test_other_model_is_another_cache(db: Database) -> None:
    Engine(db, ScriptedBackend("one")).run(prompts(3))
    other = ScriptedBackend("two")
    Engine(db, other).run(prompts(3))
    assert len(other.sent) == 3
    assert len(rows(db)) == 6


def test_failures_are_stored_then_retried_on_the_next_run(db: Database) -> None:
    backend = ScriptedBackend(fail={"prompt 1": 1})
    first = Engine(db, backend, max_attempts=1).run(prompts(3))
    assert [r.status for r in first] == ["done", "failed", "done"]
    assert first[1].error == "RuntimeError: scripted failure 1 for prompt 1"
    assert first[1].text is None
    state = fetch_states(db, [first[1].key])[first[1].key]
    assert (state.status, state.attempts) == ("failed", 1)

    second = Engine(db, backend).run(prompts(3))
    assert [r.status for r in second] == ["done"] * 3
    assert [r.cached for r in second] == [True, False, True]
    state = fetch_states(db, [first[1].key])[first[1].key]
    assert (state.status, state.attempts, state.error) == ("done", 2, None)


def test_a_failure_is_tried_again_within_the_run_up_to_max_attempts(db: Database) -> None:
    backend = ScriptedBackend(fail={"prompt 0": 2, "prompt 1": 99})
    results = Engine(db, backend, max_attempts=3).run(prompts(3))
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert backend.tries == {"prompt 0": 3, "prompt 1": 3, "prompt 2": 1}
    assert backend.batches == [3, 2, 2]  # later rounds resend only the failures


def test_failures_are_never_final_across_runs(db: Database) -> None:
    """Server down for three runs, then up: the fourth run completes every request."""
    backend = ScriptedBackend(fail={f"prompt {i}": 9 for i in range(4)})
    for _ in range(3):
        results = Engine(db, backend, max_attempts=3).run(prompts(4))
        assert all(r.status == "failed" for r in results)
    results = Engine(db, backend, max_attempts=3).run(prompts(4))
    assert all(r.status == "done" for r in results)
    assert count_by_status(db) == {"pending": 0, "done": 4, "failed": 0}
    assert fetch_states(db, [results[0].key])[results[0].key].attempts == 10


def test_retry_failed_off_returns_earlier_failures_without_sending(db: Database) -> None:
    backend = ScriptedBackend(fail={"prompt 0": 1})
    Engine(db, backend, max_attempts=1).run(prompts(2))
    engine = Engine(db, backend, retry_failed=False)
    results = engine.run(prompts(2))
    assert results[0].status == "failed" and results[0].cached
    assert backend.tries["prompt 0"] == 1
    assert engine.stats.skipped_failed == 1


def test_a_row_the_backend_never_answers_is_failed_not_lost(db: Database) -> None:
    results = Engine(db, ScriptedBackend(skip={"prompt 2"})).run(prompts(4))
    assert results[2].status == "failed"
    assert results[2].error == "backend returned no result"
    assert [r.status for r in results].count("done") == 3


def test_kill_during_a_batch_keeps_what_was_answered(db: Database) -> None:
    crashing = ScriptedBackend(crash_after=13, batch_size=8)
    with pytest.raises(KeyboardInterrupt):
        Engine(db, crashing).run(prompts(30))
    assert count_by_status(db)["done"] == 13
    assert count_by_status(db)["pending"] == 3  # the rest of the batch in flight at the kill
    answered = {r.prompt for r in crashing.sent}

    resumed = ScriptedBackend(batch_size=8)
    results = Engine(db, resumed).run(prompts(30))
    resent = {r.prompt for r in resumed.sent}
    assert not resent & answered
    assert len(resent) + len(answered) == 30
    assert all(r.status == "done" for r in results)
    assert count_by_status(db) == {"pending": 0, "done": 30, "failed": 0}
    assert db.execute("SELECT count(DISTINCT key), count(*) FROM requests").fetchone() == (30, 30)


def test_batches_follow_the_batch_size(db: Database) -> None:
    backend = ScriptedBackend(batch_size=8)
    Engine(db, backend).run(prompts(20))
    assert backend.batches == [8, 8, 4]
    other = ScriptedBackend("b2")
    Engine(db, other, batch_size=5).run(prompts(12))
    assert other.batches == [5, 5, 2]


def test_progress_counts_up_to_total(db: Database) -> None:
    Engine(db, ScriptedBackend()).run(prompts(5))
    events: list[ProgressEvent] = []
    engine = Engine(
        db,
        ScriptedBackend(fail={"prompt 9": 1}),
        max_attempts=1,
        progress=events.append,
        stage="solve",
    )
    engine.run(prompts(10))
    assert (events[0].done, events[0].total) == (5, 10)
    assert "cached 5" in events[0].detail
    last = events[-1]
    assert (last.stage, last.done, last.total, last.failed) == ("solve", 10, 10, 1)
    assert "failed 1" in last.detail and "tok/s" in last.detail
    assert [e.done for e in events] == sorted(e.done for e in events)


def test_progress_of_a_retry_round_goes_back_then_ends_done(db: Database) -> None:
    events: list[ProgressEvent] = []
    backend = ScriptedBackend(fail={"prompt 2": 1})
    Engine(db, backend, max_attempts=2, progress=events.append).run(prompts(4))
    assert any("retrying 1 failed" in e.detail for e in events)
    assert (events[-1].done, events[-1].failed) == (4, 0)


def test_empty_run_returns_nothing(db: Database) -> None:
    backend = ScriptedBackend()
    assert Engine(db, backend).run([]) == []
    assert backend.batches == []


def test_counts_and_token_totals_per_model(db: Database) -> None:
    from storage.requests import token_totals

    Engine(db, ScriptedBackend("one", fail={"prompt 0": 1}), max_attempts=1).run(prompts(3))
    Engine(db, ScriptedBackend("two")).run(prompts(2))
    assert count_by_status(db, "one") == {"pending": 0, "done": 2, "failed": 1}
    assert count_by_status(db, "two")["done"] == 2
    assert token_totals(db, "two") == (16, 4)
    assert token_totals(db) == (32, 8)


def test_a_backend_error_mid_batch_fails_the_rest_of_that_batch_only(db: Database) -> None:
    backend = ScriptedBackend(crash_after=3, batch_size=5, crash=RuntimeError)
    results = Engine(db, backend).run(prompts(5))
    assert [r.status for r in results].count("done") == 3
    failed = [r for r in results if r.status == "failed"]
    assert [r.error for r in failed] == ["RuntimeError: scripted crash"] * 2
    backend.crash_after = None
    again = Engine(db, backend).run(prompts(5))
    assert all(r.status == "done" for r in again)


class LongWinded:
    """A backend whose every reply is far longer than any cap."""

    model_id = "long"
    batch_size = 8

    def generate(self, requests: list[Request]):  # type: ignore[no-untyped-def]
        from pipeline.llm.backend import Completion

        for index, _ in enumerate(requests):
            yield index, Completion("é" * 5_000, "stop", 1, 5_000)

    def close(self) -> None:
        pass


def test_replies_past_the_cap_are_stored_cut_with_the_reason(db: Database) -> None:
    engine = Engine(db, LongWinded(), max_response_bytes=1_001)  # type: ignore[arg-type]
    (result,) = engine.run(prompts(1))
    assert result.status == "done" and result.finish_reason == "length"
    assert result.text == "é" * 500  # 1,000 bytes: a character is never split
    reason = db.execute("SELECT cut_reason FROM requests").fetchone()[0]
    assert reason == "reply of 10,000 bytes cut at max_response_bytes = 1,001"
    assert engine.stats.cut == 1
