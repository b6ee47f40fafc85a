"""Windows over the problems table: counts, pages, and one problem's full story.

The Problems screen never holds all rows: it asks for a COUNT and for pages by
LIMIT/OFFSET. Filters are data (`ProblemQuery`) turned into one SQL WHERE clause.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from sqlite_utils import Database

from pipeline.errors import ConfigError
from pipeline.selection import JOINS, SCORE_COLUMNS, Selection, kept_condition
from pipeline.selection.selection import failed_checks

SORTS = ("id", *SCORE_COLUMNS)


@dataclass(frozen=True)
class ProblemQuery:
    """Which problems to list and in what order."""

    experiment_id: int | None = None
    search: str = ""
    strategies: tuple[str, ...] = ()
    seed_set_id: int | None = None
    kept: str = "all"  # all | kept | dropped | marked
    selection: Selection = field(default_factory=Selection)
    ranges: tuple[tuple[str, float | None, float | None], ...] = ()
    sort: str = "id"
    descending: bool = False

    def with_(self, **changes: Any) -> ProblemQuery:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ProblemRow:
    """One line of the problems table."""

    id: int
    strategy: str
    status: str
    judge: float | None
    nn_sim: float | None
    decontam: float | None
    majority: float | None
    mark: str | None
    text: str
    kept: bool


def fts_expression(search: str) -> str:
    """A user's words as an FTS5 query: each word quoted, all required."""
    words = [w.replace('"', "") for w in search.split()]
    return " ".join(f'"{w}"' for w in words if w)


def where_clause(query: ProblemQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (with params) for a query over aliases p, s, m."""
    parts: list[str] = []
    params: list[Any] = []
    if query.experiment_id is not None:
        parts.append("p.experiment_id = ?")
        params.append(query.experiment_id)
    if query.search.strip():
        parts.append("p.id IN (SELECT rowid FROM problems_fts WHERE problems_fts MATCH ?)")
        params.append(fts_expression(query.search))
    if query.strategies:
        parts.append(f"p.strategy IN ({', '.join('?' for _ in query.strategies)})")
        params.extend(query.strategies)
    if query.seed_set_id is not None:
        parts.append("p.seed_id IN (SELECT id FROM seeds WHERE seed_set_id = ?)")
        params.append(query.seed_set_id)
    if query.kept in ("kept", "dropped"):
        condition, cond_params = kept_condition(query.selection)
        parts.append(condition if query.kept == "kept" else f"NOT ({condition})")
        params.extend(cond_params)
    elif query.kept == "marked":
        parts.append("m.mark IS NOT NULL")
    for column, lo, hi in query.ranges:
        if column not in SCORE_COLUMNS:
            raise ConfigError(f"score '{column}' is unknown: use one of {', '.join(SCORE_COLUMNS)}")
        if lo is not None:
            parts.append(f"s.{column} >= ?")
            params.append(lo)
        if hi is not None:
            parts.append(f"s.{column} <= ?")
            params.append(hi)
    return ("WHERE " + " AND ".join(parts)) if parts else "", params


@dataclass(frozen=True)
class ProblemCount:
    """How many problems match, and how many of them carry the score the query sorts by."""

    total: int
    scored: int  # equals `total` when sorting by id

    @property
    def unscored(self) -> int:
        """Problems without the sort's score: listed after the scored ones (before, reversed)."""
        return self.total - self.scored


def _sort_column(query: ProblemQuery) -> str | None:
    """The score column the query sorts by, or None for id order."""
    if query.sort == "id":
        return None
    if query.sort not in SORTS:
        raise ConfigError(f"sort '{query.sort}' is unknown: use one of {', '.join(SORTS)}")
    return query.sort


def _needs_joins(query: ProblemQuery) -> bool:
    return query.kept != "all" or bool(query.ranges) or query.sort != "id"


def count_problems(db: Database, query: ProblemQuery) -> ProblemCount:
    """How many problems match (joins only when a filter needs them, to stay fast)."""
    where, params = where_clause(query)
    column = _sort_column(query)
    if column is None:
        source = f"FROM problems p {JOINS}" if _needs_joins(query) else "FROM problems p"
        total = int(db.execute(f"SELECT COUNT(*) {source} {where}", params).fetchone()[0])
        return ProblemCount(total, total)
    row = db.execute(
        f"SELECT COUNT(*), COUNT(s.{column}) FROM problems p {JOINS} {where}", params
    ).fetchone()
    return ProblemCount(int(row[0]), int(row[1]))


# One part of a listing: (scored, size when known). Sorting by a score lists the problems
# that have it (walking that score's index) and then those without it (walking ids), so
# sorting never hides a problem; reversed, the problems without it come first. `scored`
# None is the whole listing in id order.
_Segment = tuple[bool | None, int | None]


def fetch_page(
    db: Database,
    query: ProblemQuery,
    offset: int,
    limit: int,
    count: ProblemCount | None = None,
) -> list[ProblemRow]:
    """Rows `offset`..`offset+limit` of the query, in its order.

    Given the `count`, a page in the second half of a segment is read backwards from its
    end, so the last page of a million rows costs what the first does (OFFSET walks
    skipped rows).
    """
    column = _sort_column(query)
    if column is None:
        return _read(db, query, (None, count.total if count else None), offset, limit)
    first, second = (False, True) if query.descending else (True, False)
    if count is None:
        # No count yet (the first page is read while the COUNT runs). Where no problem can
        # lack the score, listing the unscored would scan every row to find none.
        if not _may_lack_score(db, column):
            return _read(db, query, (True, None), offset, limit)
        # Read on into the second segment, counting the first only when the page starts
        # beyond it.
        rows = _read(db, query, (first, None), offset, limit)
        if len(rows) == limit:
            return rows
        first_size = offset + len(rows) if rows or offset == 0 else _segment_size(db, query, first)
        skip = max(0, offset - first_size)
        return rows + _read(db, query, (second, None), skip, limit - len(rows))
    sizes = {True: count.scored, False: count.unscored}
    rows = []
    start = 0
    for scored in (first, second):
        size = sizes[scored]
        lo, hi = max(offset, start), min(offset + limit, start + size)
        if lo < hi:
            rows += _read(db, query, (scored, size), lo - start, hi - lo)
        start += size
    return rows


def _may_lack_score(db: Database, column: str) -> bool:
    """Whether any problem in the workspace may lack `column` (two index-only lookups, so
    cheaper than the scan that would look for them)."""
    row = db.execute(
        f"SELECT EXISTS (SELECT 1 FROM scores WHERE {column} IS NULL) "
        "OR (SELECT COUNT(*) FROM problems) > (SELECT COUNT(*) FROM scores)"
    ).fetchone()
    return bool(row[0])


def _segment_size(db: Database, query: ProblemQuery, scored: bool) -> int:
    """How many matching problems have (or lack) the sort's score."""
    count = count_problems(db, query)
    return count.scored if scored else count.unscored


def _read(
    db: Database, query: ProblemQuery, segment: _Segment, offset: int, limit: int
) -> list[ProblemRow]:
    """Rows of one segment, read backwards from its end when that is nearer."""
    scored, size = segment
    where, params = where_clause(query)
    column = _sort_column(query)
    descending = query.descending
    if size is not None and offset > size // 2:
        limit = max(0, min(limit, size - offset))
        offset = max(0, size - offset - limit)
        descending = not descending
        reverse = True
    else:
        reverse = False
    direction = "DESC" if descending else "ASC"
    if scored:
        # Walk the score's index: only problems that have the score.
        source = (
            "FROM scores s JOIN problems p ON p.id = s.problem_id "
            "LEFT JOIN marks m ON m.problem_id = p.id"
        )
        where = (where + " AND " if where else "WHERE ") + f"s.{column} IS NOT NULL"
        order = f"s.{column} {direction}, s.problem_id {direction}"
    else:
        source = f"FROM problems p {JOINS}"
        if scored is False:
            where = (where + " AND " if where else "WHERE ") + f"s.{column} IS NULL"
        order = f"p.id {direction}"
    kept_sql, kept_params = kept_condition(query.selection)
    found = db.execute(
        "SELECT p.id, p.strategy, p.status, s.judge_score, s.nn_sim, s.decontam_overlap, "
        f"s.majority_share, m.mark, substr(p.text, 1, 300), CASE WHEN {kept_sql} THEN 1 ELSE 0 END "
        f"{source} {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*kept_params, *params, limit, offset],
    ).fetchall()
    if reverse:
        found.reverse()
    return [
        ProblemRow(
            id=r[0],
            strategy=r[1],
            status=r[2],
            judge=r[3],
            nn_sim=r[4],
            decontam=r[5],
            majority=r[6],
            mark=r[7],
            text=r[8],
            kept=bool(r[9]),
        )
        for r in found
    ]


@dataclass
class ProblemDetail:
    """Everything the inspector shows about one problem."""

    problem: dict[str, Any]
    seed: dict[str, Any] | None
    stages: list[dict[str, Any]]
    solutions: list[dict[str, Any]]
    scores: dict[str, Any] | None
    duplicates: list[dict[str, Any]]
    decontam_match: dict[str, Any] | None
    mark: tuple[str, str | None] | None
    kept: bool | None = None  # by the selection asked for in `load_detail`, if any
    # Why the selection drops it: the tests it fails (`pipeline.selection.failed_checks`).
    reasons: tuple[str, ...] = ()


def _dicts(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_detail(
    db: Database, problem_id: int, selection: Selection | None = None
) -> ProblemDetail | None:
    """The problem, its provenance, solutions, scores, nearest duplicates and marks (and
    whether `selection` keeps it, when given)."""
    found = _dicts(db, "SELECT * FROM problems WHERE id = ?", [problem_id])
    if not found:
        return None
    problem = found[0]
    seeds = (
        _dicts(
            db,
            "SELECT seeds.id, seeds.question, seeds.answer, seeds.source_line, seed_sets.name "
            "AS seed_set FROM seeds JOIN seed_sets ON seed_sets.id = seeds.seed_set_id "
            "WHERE seeds.id = ?",
            [problem["seed_id"]],
        )
        if problem["seed_id"] is not None
        else []
    )
    stages = _dicts(
        db,
        "SELECT so.stage, so.round, so.parsed_json, r.response, r.model FROM stage_outputs so "
        "LEFT JOIN requests r ON r.key = so.request_key WHERE so.problem_id = ? "
        "ORDER BY so.id",
        [problem_id],
    )
    solutions = _dicts(
        db,
        "SELECT model, sample_index, text, extracted_answer, extract_rule, verdict, label "
        "FROM solutions WHERE problem_id = ? ORDER BY model, sample_index",
        [problem_id],
    )
    scores = _dicts(db, "SELECT * FROM scores WHERE problem_id = ?", [problem_id])
    duplicates = _dicts(
        db,
        "SELECT d.other_id AS id, d.score, p.text, p.strategy FROM duplicates d "
        "JOIN problems p ON p.id = d.other_id WHERE d.problem_id = ? "
        "UNION SELECT d.problem_id, d.score, p.text, p.strategy FROM duplicates d "
        "JOIN problems p ON p.id = d.problem_id WHERE d.other_id = ? "
        "ORDER BY 2 DESC LIMIT 5",
        [problem_id, problem_id],
    )
    score_row = scores[0] if scores else None
    if score_row and not duplicates and score_row.get("nn_id"):
        duplicates = _dicts(
            db,
            "SELECT id, ? AS score, text, strategy FROM problems WHERE id = ?",
            [score_row["nn_sim"], score_row["nn_id"]],
        )
    match = None
    if score_row and score_row.get("decontam_match"):
        try:
            match = json.loads(score_row["decontam_match"])
        except json.JSONDecodeError:
            match = {"text": score_row["decontam_match"]}
    mark_rows = db.execute(
        "SELECT mark, note FROM marks WHERE problem_id = ?", [problem_id]
    ).fetchone()
    kept = None
    reasons: tuple[str, ...] = ()
    if selection is not None:
        condition, params = kept_condition(selection)
        kept = bool(
            db.execute(
                f"SELECT {condition} FROM problems p {JOINS} WHERE p.id = ?",
                [*params, problem_id],
            ).fetchone()[0]
        )
        if not kept:
            reasons = tuple(f"fails {name}" for name in failed_checks(db, problem_id, selection))
    return ProblemDetail(
        problem,
        seeds[0] if seeds else None,
        stages,
        solutions,
        score_row,
        duplicates,
        match,
        (str(mark_rows[0]), mark_rows[1]) if mark_rows else None,
        kept,
        reasons,
    )


def list_strategies(db: Database, experiment_id: int | None) -> list[str]:
    """Strategies that have problems (in the experiment when given)."""
    if experiment_id is None:
        rows = db.execute("SELECT DISTINCT strategy FROM problems ORDER BY 1").fetchall()
    else:
        rows = db.execute(
            "SELECT DISTINCT strategy FROM problems WHERE experiment_id = ? ORDER BY 1",
            [experiment_id],
        ).fetchall()
    return [str(r[0]) for r in rows]
