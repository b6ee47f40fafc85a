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
from pipeline.selection.thresholds import JOINS, SCORE_COLUMNS, Selection, kept_condition

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


def _needs_joins(query: ProblemQuery) -> bool:
    return query.kept != "all" or bool(query.ranges) or query.sort != "id"


def _source(query: ProblemQuery) -> str:
    """The FROM clause: sorting by a score walks that score's index (scored problems only)."""
    if query.sort != "id":
        return (
            "FROM scores s JOIN problems p ON p.id = s.problem_id "
            "LEFT JOIN marks m ON m.problem_id = p.id"
        )
    return f"FROM problems p {JOINS}"


def _where(query: ProblemQuery) -> tuple[str, list[Any]]:
    where, params = where_clause(query)
    if query.sort != "id":
        if query.sort not in SORTS:
            raise ConfigError(f"sort '{query.sort}' is unknown: use one of {', '.join(SORTS)}")
        where = (where + " AND " if where else "WHERE ") + f"s.{query.sort} IS NOT NULL"
    return where, params


def count_problems(db: Database, query: ProblemQuery) -> int:
    """How many problems match (joins only when a filter needs them, to stay fast)."""
    where, params = _where(query)
    source = _source(query) if _needs_joins(query) else "FROM problems p"
    return int(db.execute(f"SELECT COUNT(*) {source} {where}", params).fetchone()[0])


def fetch_page(
    db: Database, query: ProblemQuery, offset: int, limit: int, total: int | None = None
) -> list[ProblemRow]:
    """Rows `offset`..`offset+limit` of the query, in its order.

    Given the `total`, a page in the second half is read backwards from the end, so the
    last page of a million rows costs what the first does (OFFSET walks skipped rows).
    """
    where, params = _where(query)
    descending = query.descending
    reverse = total is not None and offset > total // 2
    if reverse and total is not None:
        limit = max(0, min(limit, total - offset))
        offset = max(0, total - offset - limit)
        descending = not descending
    kept_sql, kept_params = kept_condition(query.selection)
    direction = "DESC" if descending else "ASC"
    key = "p.id" if query.sort == "id" else "s.problem_id"
    order = (
        f"{key} {direction}"
        if query.sort == "id"
        else f"s.{query.sort} {direction}, {key} {direction}"
    )
    rows = db.execute(
        "SELECT p.id, p.strategy, p.status, s.judge_score, s.nn_sim, s.decontam_overlap, "
        f"s.majority_share, m.mark, substr(p.text, 1, 300), CASE WHEN {kept_sql} THEN 1 ELSE 0 END "
        f"{_source(query)} {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*kept_params, *params, limit, offset],
    ).fetchall()
    if reverse:
        rows.reverse()
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
        for r in rows
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


def _dicts(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_detail(db: Database, problem_id: int) -> ProblemDetail | None:
    """The problem, its provenance, solutions, scores, nearest duplicates and marks."""
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
    return ProblemDetail(
        problem,
        seeds[0] if seeds else None,
        stages,
        solutions,
        score_row,
        duplicates,
        match,
        (str(mark_rows[0]), mark_rows[1]) if mark_rows else None,
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
