"""The Filters screen's numpy snapshot must count exactly what the SQL selection keeps."""

from __future__ import annotations

import pytest

from pipeline.selection.index import load_index
from pipeline.selection.thresholds import POLICIES, Selection, score_histogram, strategy_counts
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
    db.execute("DELETE FROM scores WHERE problem_id IN (44, 45)")
    return db


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize(
    "thresholds",
    [
        {},
        {"max_nn_sim": 0.9, "min_judge": 0.3, "drop_exact_dups": False},
        {"max_nn_sim": None, "max_decontam": 0.2, "honour_marks": False},
    ],
)
def test_counts_match_sql(db, policy: str, thresholds: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    selection = Selection(policy=policy, **thresholds)  # type: ignore[arg-type]
    assert load_index(db, 1).counts(selection) == strategy_counts(db, 1, selection)


def test_histogram_matches_sql(db) -> None:  # type: ignore[no-untyped-def]
    index = load_index(db, 1)
    for column in ("nn_sim", "judge_score", "decontam_overlap"):
        counts, lo, hi = index.histogram(column, 10)
        sql_counts, sql_lo, sql_hi = score_histogram(db, 1, column, 10)
        assert sum(counts) == sum(sql_counts)
        assert (lo, hi) == pytest.approx((sql_lo, sql_hi))


def test_empty_experiment(db) -> None:  # type: ignore[no-untyped-def]
    index = load_index(db, 999)
    assert index.size == 0 and index.counts(Selection()) == []
    assert index.histogram("nn_sim", 5) == ([0] * 5, 0.0, 0.0)
