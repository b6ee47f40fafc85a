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


def all_ids(db, query: ProblemQuery, page: int, reverse_ok: bool) -> list[int]:  # type: ignore[no-untyped-def]
    total = count_problems(db, query)
    ids: list[int] = []
    for offset in range(0, total, page):
        ids += [r.id for r in fetch_page(db, query, offset, page, total if reverse_ok else None)]
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
    assert len(forwards) == len(set(forwards)) == count_problems(db, query)


def test_sort_by_score_orders_and_lists_scored_only(db) -> None:  # type: ignore[no-untyped-def]
    rows = fetch_page(db, ProblemQuery(sort="judge_score", descending=True), 0, 90)
    scores = [r.judge for r in rows]
    assert scores == sorted(scores, reverse=True) and None not in scores


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
