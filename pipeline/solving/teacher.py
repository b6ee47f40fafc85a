"""Solving: K teacher solutions per problem, and the LLM judge's solvability score.

Both go through the request engine, so a killed run resumes without re-sending
finished requests, and both read their prompt from the editable, versioned `templates`
table (`solver`/`solve` and `judge`/`judge`), seeded from the packaged defaults.
Solutions are stored raw; answers, verdicts and signals come from `pipeline.solving.scores`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.answers.extraction import extract_answer
from pipeline.errors import ConfigError
from pipeline.experiments.store import experiment_id, load_experiment
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec
from pipeline.progress import ProgressEvent, Reporter, ignore, within
from pipeline.solving.prompts.solver import SOLVER_TEMPLATE, render_solver_prompt
from pipeline.solving.scores import ScoreSummary, score_experiment
from storage.database import transaction
from storage.templates import latest_template, seed_default_template

CHUNK = 256
SOLVER = ("solver", "solve")


@dataclass
class SolveReport:
    """What a solving run did."""

    problems: int = 0
    requested: int = 0  # solutions asked for (problems x k)
    stored: int = 0  # new solutions written by this run
    already: int = 0  # solutions an earlier run had stored
    failed: int = 0  # requests that failed on a model error (retried on the next run)
    scores: ScoreSummary | None = None


def solver_template(db: Database) -> tuple[str, int]:
    """The current solver prompt body and its version (the packaged default on first use)."""
    return _template(db, SOLVER, SOLVER_TEMPLATE)


def _template(db: Database, key: tuple[str, str], default: str) -> tuple[str, int]:
    seed_default_template(db, key[0], key[1], default)
    stored = latest_template(db, key[0], key[1])
    assert stored is not None
    return stored.body, stored.version


def solve(
    db: Database,
    experiment: str,
    *,
    k: int | None = None,
    limit: int | None = None,
    backend: Backend | None = None,
    progress: Reporter = ignore,
    score: bool = True,
    max_attempts: int = 3,
    retry_failed: bool = True,
) -> SolveReport:
    """Sample `k` (default: the config's `solve.k`) teacher solutions for every kept problem.

    Resumable: solutions already stored are not asked for again, and finished model
    calls come from the request cache. With `score`, signals are recomputed afterwards.
    """
    config = load_experiment(db, experiment)
    exp_id = experiment_id(db, experiment)
    k = k if k is not None else config.solve.k
    if k < 1:
        raise ConfigError("--k must be >= 1")
    params = dataclasses.replace(config.sampling.teacher, n=k)
    body, _ = solver_template(db)
    report = SolveReport()
    teacher = _Model(config.models.teacher, backend)
    try:
        problems = _problems(db, exp_id, limit)
        report.problems = len(problems)
        report.requested = len(problems) * k
        # Reported before the model loads: a job shows "solve" from its first second.
        progress(ProgressEvent("solve", 0, report.requested, "loading the teacher model"))
        for start in range(0, len(problems), CHUNK):
            chunk = problems[start : start + CHUNK]
            model = teacher.get()
            have = _stored_samples(db, [pid for pid, _ in chunk], model.model_id)
            report.already += sum(min(len(have.get(pid, ())), k) for pid, _ in chunk)
            todo = [(pid, text) for pid, text in chunk if len(have.get(pid, ())) < k]
            before = start * k + (len(chunk) - len(todo)) * k
            if not todo:
                progress(ProgressEvent("solve", before, report.requested, "already solved"))
                continue
            engine = Engine(
                db,
                model,
                max_attempts=max_attempts,
                retry_failed=retry_failed,
                progress=within(progress, "solve", before=before, total=report.requested),
                stage="solve",
            )
            results = engine.run(
                [
                    Request(messages=(("user", render_solver_prompt(text, body)),), params=params)
                    for _, text in todo
                ]
            )
            rows = []
            for index, (pid, _) in enumerate(todo):
                for sample in range(k):
                    result = results[index * k + sample]
                    if sample in have.get(pid, ()):
                        continue
                    if result.status != "done" or result.text is None:
                        report.failed += 1
                        continue
                    extraction = extract_answer(result.text)
                    rows.append(
                        (
                            pid,
                            model.model_id,
                            sample,
                            result.key,
                            result.text,
                            extraction.answer,
                            extraction.rule,
                            # 'length' marks a solution cut at the token limit: selection
                            # never trains on it unless asked (pipeline.selection.policy)
                            result.finish_reason,
                        )
                    )
            with transaction(db):
                cursor = db.conn.executemany(
                    "INSERT OR IGNORE INTO solutions (problem_id, model, sample_index, request_key,"
                    " text, extracted_answer, extract_rule, finish_reason)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            report.stored += max(cursor.rowcount, 0)
    finally:
        teacher.close()
    if score:
        report.scores = score_experiment(db, experiment, progress=progress)
    return report


def _problems(db: Database, exp_id: int, limit: int | None) -> list[tuple[int, str]]:
    sql = "SELECT id, text FROM problems WHERE experiment_id = ? AND status = 'ok' ORDER BY id"
    args: list[object] = [exp_id]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return [(int(row[0]), str(row[1])) for row in db.execute(sql, args).fetchall()]


def _stored_samples(db: Database, ids: list[int], model: str) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    marks = ",".join("?" * len(ids))
    for pid, sample in db.execute(
        f"SELECT problem_id, sample_index FROM solutions WHERE model = ? AND problem_id IN "
        f"({marks})",
        [model, *ids],
    ).fetchall():
        found.setdefault(int(pid), set()).add(int(sample))
    return found


class _Model:
    """The given backend, or the configured one loaded on first need (and then closed here)."""

    def __init__(self, spec: ModelSpec, given: Backend | None) -> None:
        self.spec = spec
        self.backend = given
        self.owned = given is None

    def get(self) -> Backend:
        if self.backend is None:
            self.backend = load_backend(self.spec)
        return self.backend

    def close(self) -> None:
        if self.owned and self.backend is not None:
            self.backend.close()
