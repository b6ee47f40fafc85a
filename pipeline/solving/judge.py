"""The LLM judge: how solvable (well-posed) each problem is, stored as `scores.judge_score`.

Goes through the resumable engine with the editable, versioned `judge` template, so a rerun
re-sends only unanswered prompts. The score is a signal; the judge threshold of a
selection decides what is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.experiments.lookup import resolve_experiment
from pipeline.experiments.store import experiment_id, load_experiment
from pipeline.llm.backend import Backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import SamplingParams
from pipeline.progress import ProgressEvent, Reporter, ignore, within
from pipeline.solving.prompts.judge import JUDGE_TEMPLATE, parse_judge_score, render_judge_prompt
from pipeline.solving.teacher import _Model, _problems, _template
from storage.database import transaction

JUDGE = ("judge", "judge")


@dataclass
class JudgeReport:
    """Problems of the experiment, and how many now carry a judge score."""

    problems: int = 0
    scored: int = 0


def judge_template(db: Database) -> tuple[str, int]:
    return _template(db, JUDGE, JUDGE_TEMPLATE)


def judge(
    db: Database,
    experiment: str,
    *,
    rejudge: bool = False,
    backend: Backend | None = None,
    progress: Reporter = ignore,
    max_attempts: int = 3,
    retry_failed: bool = True,
) -> JudgeReport:
    """Ask the configured judge model how well-posed each kept problem is (0..1 in `scores`).

    Uses the stored (editable) judge template; problems already judged are skipped
    unless `rejudge`.
    """
    config = load_experiment(db, experiment)
    body, _ = judge_template(db)
    problems = len(_problems(db, experiment_id(db, experiment), None))
    model = _Model(config.models.judge, backend)
    progress(ProgressEvent("judge", 0, None, "loading the judge model"))
    try:
        engine = Engine(
            db,
            model.get(),
            max_attempts=max_attempts,
            retry_failed=retry_failed,
            stage="judge requests",
        )
        scored = judge_experiment(
            db,
            experiment,
            engine,
            params=config.sampling.judge,
            template=body,
            rejudge=rejudge,
            progress=progress,
        )
    finally:
        model.close()
    return JudgeReport(problems=problems, scored=scored)


def store_judge_scores(db: Database, scores: Mapping[int, float | None]) -> int:
    """Write judge solvability scores (0..1, from `parse_judge_score`) into `scores.judge_score`."""
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO scores (problem_id, judge_score) VALUES (?, ?) ON CONFLICT(problem_id) "
            "DO UPDATE SET judge_score = excluded.judge_score, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            list(scores.items()),
        )
    return len(scores)


def judge_experiment(
    db: Database,
    experiment: str | int,
    engine: Engine,
    *,
    params: SamplingParams | None = None,
    template: str = JUDGE_TEMPLATE,
    rejudge: bool = False,
    chunk: int = 256,
    progress: Reporter = ignore,
) -> int:
    """Ask the judge model how solvable each problem is; store `scores.judge_score` (0..1).

    Goes through the resumable engine, so a rerun re-sends only unanswered prompts. A reply
    without a score stores NULL (such a problem fails any `judge_min`). Returns how many
    problems got a score.
    """

    experiment_id = resolve_experiment(db, experiment)
    sampling = params or SamplingParams(temperature=0.0, max_new_tokens=64)
    missing = "" if rejudge else "AND (s.problem_id IS NULL OR s.judge_score IS NULL)"
    rows = db.execute(
        "SELECT p.id, p.text FROM problems p LEFT JOIN scores s ON s.problem_id = p.id "
        f"WHERE p.experiment_id = ? AND p.status = 'ok' {missing} ORDER BY p.id",
        [experiment_id],
    ).fetchall()
    scored = 0
    progress(ProgressEvent("judge", 0, len(rows)))
    for start in range(0, len(rows), chunk):
        batch = rows[start : start + chunk]
        if progress is not ignore:  # the engine's request counts fill this chunk's share
            engine.progress = within(progress, "judge", before=start, total=len(rows))
        requests = [
            Request(messages=(("user", render_judge_prompt(text, template)),), params=sampling)
            for _, text in batch
        ]
        results = engine.run(requests)
        scores = {
            int(pid): parse_judge_score(result.text if result.status == "done" else None)
            for (pid, _), result in zip(batch, results, strict=True)
        }
        store_judge_scores(db, scores)
        scored += sum(1 for value in scores.values() if value is not None)
        progress(ProgressEvent("judge", min(start + chunk, len(rows)), len(rows)))
    return scored
