"""The one progress protocol: folding stages, parts of a stage, throttling, and solve's
events from its first second (issue 10 section 3, issue 17 item 8)."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from pipeline.progress import Fanout, Overall, ProgressEvent, Throttle, within
from pipeline.solving.teacher import solve
from tests.unit.test_solving import Teacher, _experiment_with_problems


def test_overall_is_one_bar_that_never_goes_back_and_sums_failures() -> None:
    seen: list[ProgressEvent] = []
    bar = Overall(seen.append, ["generate a", "generate b"], label="generate")
    bar(ProgressEvent("generate a", 4, 4, failed=1))  # the first of two strategies done
    assert (seen[-1].done, seen[-1].total) == (500, 1000)  # half the job, not 4/4 = 100%
    bar(ProgressEvent("generate b", 0, 8))
    bar(ProgressEvent("generate b", 2, 8, "requests 3/9", failed=2))
    assert (seen[-1].stage, seen[-1].done, seen[-1].failed) == ("generate", 625, 3)
    assert seen[-1].detail == "generate b 2/8  requests 3/9"
    bar(ProgressEvent("generate b", 1, 8))  # a retry round restarts its own count
    bar(ProgressEvent("score", 5, 10))  # a sub-step: counts as the current stage
    assert [e.done for e in seen] == sorted(e.done for e in seen)
    bar(ProgressEvent("generate b", 8, 8))
    assert seen[-1].done == seen[-1].total == 1000


def test_within_adds_a_part_to_the_stage() -> None:
    seen: list[ProgressEvent] = []
    part = within(seen.append, "solve", before=30, total=90)
    part(ProgressEvent("requests", 12, 30, "cached 2", failed=1))
    assert seen[-1] == ProgressEvent("solve", 42, 90, "requests: cached 2", 1)


def test_throttle_keeps_what_matters_and_flushes_the_rest() -> None:
    seen: list[ProgressEvent] = []
    throttle = Throttle(seen.append, interval_s=3600)
    throttle(ProgressEvent("a", 0, 10))
    throttle(ProgressEvent("a", 1, 10))  # held back
    throttle(ProgressEvent("a", 2, 10, failed=1))  # a new failure passes
    throttle(ProgressEvent("a", 3, 10, failed=1))  # held back
    throttle(ProgressEvent("b", 0, 5))  # a new stage passes
    throttle(ProgressEvent("b", 4, 5))  # held back
    assert [(e.stage, e.done) for e in seen] == [("a", 0), ("a", 2), ("b", 0)]
    throttle.flush()
    assert seen[-1] == ProgressEvent("b", 4, 5)
    both: list[ProgressEvent] = []
    Fanout(both.append, both.append)(ProgressEvent("c"))
    assert len(both) == 2


def test_solve_reports_from_its_first_second_and_counts_every_chunk(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Solve once showed nothing for 40 s (the model loading), then reset per chunk."""
    from pipeline.solving import teacher

    monkeypatch.setattr(teacher, "CHUNK", 2)  # three chunks
    _experiment_with_problems(db, 5)
    seen: list[ProgressEvent] = []
    solve(db, "exp", k=2, backend=Teacher(), progress=seen.append)
    assert seen[0] == ProgressEvent("solve", 0, 10, "loading the teacher model")
    solved = [e for e in seen if e.stage == "solve"]
    assert [e.done for e in solved] == sorted(e.done for e in solved)
    assert solved[-1].done == 10 and solved[-1].total == 10
    assert seen[-1].stage == "score" and seen[-1].done == seen[-1].total == 5
