"""Problem browsing queries: counts agree with pages, reverse paging, sorts, filters, diffs."""

from __future__ import annotations

import pytest

from pipeline.dedup.diff import word_diff
from pipeline.errors import ConfigError
from pipeline.problems.browse import (
    ProblemQuery,
    count_problems,
    fetch_page,
    fts_expression,
    load_detail,
)
from tests.tui.sample import build_workspace


@pytest.fixture(scope="module")
def db():  # type: ignore[no-untyped-def]
    return build_workspace(":memory:", 90)


@pytest.fixture(scope="module")
def partly_scored():  # type: ignore[no-untyped-def]
    """90 problems: 10 without a scores row, 20 more without a judge score."""
    db = build_workspace(":memory:", 90)
    db.execute("DELETE FROM scores WHERE problem_id > 80")
    db.execute("UPDATE scores SET judge_score = NULL WHERE problem_id % 4 = 0")
    return db


def all_ids(db, query: ProblemQuery, page: int, reverse_ok: bool) -> list[int]:  # type: ignore[no-untyped-def]
    count = count_problems(db, query)
    ids: list[int] = []
    for offset in range(0, count.total, page):
        ids += [r.id for r in fetch_page(db, query, offset, page, count if reverse_ok else None)]
    return ids


@pytest.mark.parametrize(
    "query",
    [
        ProblemQuery(),
        ProblemQuery(sort="judge_score", descending=True),
        ProblemQuery(sort="nn_sim", kept="kept"),
        ProblemQuery(search="apples", strategies=("iqc", "paraphrase")),
        ProblemQuery(kept="dropped", ranges=(("judge_score", 0.2, 0.9),)),
    ],
)
def test_pages_read_forwards_and_backwards_agree(db, query: ProblemQuery) -> None:  # type: ignore[no-untyped-def]
    forwards = all_ids(db, query, 7, reverse_ok=False)
    assert forwards == all_ids(db, query, 7, reverse_ok=True)
    assert len(forwards) == len(set(forwards)) == count_problems(db, query).total


@pytest.mark.parametrize("sort", ["judge_score", "decontam_overlap", "nn_sim"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("kept", ["all", "kept"])
def test_sorting_by_a_score_never_hides_a_problem(  # type: ignore[no-untyped-def]
    partly_scored, sort: str, descending: bool, kept: str
) -> None:
    query = ProblemQuery(sort=sort, descending=descending, kept=kept)
    by_id = all_ids(partly_scored, ProblemQuery(kept=kept), 7, reverse_ok=True)
    for reverse_ok in (False, True):
        for page in (7, 200):
            assert sorted(all_ids(partly_scored, query, page, reverse_ok)) == by_id


@pytest.mark.parametrize("descending", [False, True])
def test_problems_without_the_score_sort_last_or_first_reversed(  # type: ignore[no-untyped-def]
    partly_scored, descending: bool
) -> None:
    query = ProblemQuery(sort="judge_score", descending=descending)
    count = count_problems(partly_scored, query)
    assert (count.total, count.scored) == (90, 60)
    rows = fetch_page(partly_scored, query, 0, 90, count)
    scores = [r.judge for r in rows]
    scored = [s for s in scores if s is not None]
    assert scored == sorted(scored, reverse=descending)
    missing = [s is None for s in scores]
    assert missing == ([True] * 30 + [False] * 60 if descending else [False] * 60 + [True] * 30)
    unscored_ids = [r.id for r in rows if r.judge is None]
    assert unscored_ids == sorted(unscored_ids, reverse=descending)
    # A page that straddles the two segments, with and without the count.
    for given in (count, None):
        page = fetch_page(partly_scored, query, 55, 10, given)
        assert [r.id for r in page] == [r.id for r in rows[55:65]]


def test_unknown_sort_or_score_is_a_config_error(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="sort"):
        fetch_page(db, ProblemQuery(sort="nope"), 0, 5)
    with pytest.raises(ConfigError, match="score"):
        count_problems(db, ProblemQuery(ranges=(("nope", 0, 1),)))


def test_search_words_are_quoted_for_fts() -> None:
    assert fts_expression('x + y "z') == '"x" "+" "y" "z"'


def test_detail_and_word_diff(db) -> None:  # type: ignore[no-untyped-def]
    detail = load_detail(db, 2)
    assert detail is not None and detail.duplicates[0]["id"] == 3 and detail.seed is not None
    assert load_detail(db, 10_000) is None
    left, right = word_diff("a b c", "a x c")
    assert [w for w, changed in left if changed] == ["b"]
    assert [w for w, changed in right if changed] == ["x"]
