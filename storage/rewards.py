"""Reward-model scores per solution (`solutions.reward`, `solutions.reward_model`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class Unscored:
    """A solution still waiting for a reward from this scorer, with its problem's text."""

    solution_id: int
    problem: str
    solution: str


def count_unscored(db: Database, experiment_id: int, model: str, *, rescore: bool) -> int:
    """Solutions of the experiment's generated problems that this scorer has not scored."""
    row = db.execute(
        "SELECT COUNT(*) FROM solutions x JOIN problems p ON p.id = x.problem_id "
        "WHERE p.experiment_id = ? AND p.status = 'ok' "
        + ("" if rescore else "AND (x.reward IS NULL OR COALESCE(x.reward_model, '') != ?)"),
        [experiment_id] if rescore else [experiment_id, model],
    ).fetchone()
    return int(row[0])


def unscored(
    db: Database, experiment_id: int, model: str, *, after: int, limit: int, rescore: bool
) -> list[Unscored]:
    """The next `limit` solutions (by id, after `after`) the scorer has not scored yet."""
    rows = db.execute(
        "SELECT x.id, p.text, x.text FROM solutions x JOIN problems p ON p.id = x.problem_id "
        "WHERE p.experiment_id = ? AND p.status = 'ok' AND x.id > ? "
        + ("" if rescore else "AND (x.reward IS NULL OR COALESCE(x.reward_model, '') != ?) ")
        + "ORDER BY x.id LIMIT ?",
        [experiment_id, after, limit] if rescore else [experiment_id, after, model, limit],
    ).fetchall()
    return [Unscored(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def store_rewards(db: Database, model: str, scores: Sequence[tuple[int, float]]) -> None:
    """Write (solution id, reward) pairs from `model` in one transaction."""
    with db.atomic():
        db.conn.executemany(
            "UPDATE solutions SET reward = ?, reward_model = ? WHERE id = ?",
            [(reward, model, solution_id) for solution_id, reward in scores],
        )
