"""The Filters screen's numpy snapshot must keep exactly what the SQL selection keeps."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.selection import (
    Policy,
    Selection,
    kept_ids,
    score_histogram,
    strategy_counts,
)
from pipeline.selection.index import fingerprint, load_index
from tests.tui.sample import build_workspace


@pytest.fixture(scope="module")
def db():  # type: ignore[no-untyped-def]
    db = build_workspace(":memory:", 90)
    db.execute("INSERT INTO marks (problem_id, mark) VALUES (1, 'drop'), (18, 'keep'), (5, 'flag')")
    db.execute(
        "UPDATE scores SET reference_agrees = problem_id % 2, "
        "is_exact_dup = (problem_id % 7 = 0), nn_sim = 0.9, dup_of_sim = 0.9 "
        "WHERE problem_id % 11 = 0"
    )
    db.execute("UPDATE scores SET judge_score = NULL WHERE problem_id % 13 = 0")
    db.execute("DELETE FROM scores WHERE problem_id IN (44, 45)")
    db.execute("DELETE FROM solutions WHERE problem_id IN (46, 47)")
    # Truncated solutions: some problems lose one candidate, some lose every one.
    db.execute(
        "UPDATE solutions SET finish_reason = 'length' WHERE (problem_id + sample_index) % 4 = 0"
    )
    db.execute("UPDATE solutions SET finish_reason = 'length' WHERE problem_id % 10 = 3")
    db.execute("UPDATE solutions SET reward = (id % 5) * 0.2 WHERE id % 3 != 0")
    return db


THRESHOLDS: list[dict[str, Any]] = [
    {},
    {"near_dup_max": 0.9, "judge_min": 0.3, "drop_exact_dups": False},
    {"near_dup_max": None, "decontam_max": 0.2, "honour_marks": False},
    {"judge_min": 0.0, "allow_truncated": True},
    {"decontam_max": None, "near_dup_max": 0.5, "allow_truncated": True, "honour_marks": False},
]


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize("thresholds", THRESHOLDS)
def test_counts_and_ids_match_sql(db, policy: Policy, thresholds: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    selection = Selection(policy=policy, **thresholds)
    index = load_index(db, 1)
    assert index.counts(selection) == strategy_counts(db, 1, selection)
    assert index.kept_ids(selection) == kept_ids(db, 1, selection)


def test_the_fixture_exercises_truncation(db) -> None:  # type: ignore[no-untyped-def]
    index = load_index(db, 1)
    strict, loose = Selection(), Selection(allow_truncated=True)
    assert len(index.kept_ids(strict)) < len(index.kept_ids(loose))


def test_histogram_matches_sql(db) -> None:  # type: ignore[no-untyped-def]
    index = load_index(db, 1)
    for column in ("nn_sim", "judge_score", "decontam_overlap"):
        counts, lo, hi = index.histogram(column, 10)
        sql_counts, sql_lo, sql_hi = score_histogram(db, 1, column, 10)
        assert sum(counts) == sum(sql_counts)
        assert (lo, hi) == pytest.approx((sql_lo, sql_hi))


def test_new_solutions_change_the_fingerprint(db) -> None:  # type: ignore[no-untyped-def]
    before = fingerprint(db, 1)
    db.execute(
        "INSERT INTO solutions (problem_id, model, sample_index, text) VALUES (46, 't', 0, 's')"
    )
    assert fingerprint(db, 1) != before
    db.execute("DELETE FROM solutions WHERE problem_id = 46")


def test_empty_experiment(db) -> None:  # type: ignore[no-untyped-def]
    index = load_index(db, 999)
    assert index.size == 0 and index.counts(Selection()) == []
    assert index.histogram("nn_sim", 5) == ([0] * 5, 0.0, 0.0)
