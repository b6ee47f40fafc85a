"""Checkpoint selection as the FLAMES paper did it: the best of K checkpoints on a benchmark set.

Every checkpoint of a finished run is evaluated on the selection benchmarks (their mean
accuracy is its score); the best is recorded on the run, and the last is always reported
beside it. When the selection benchmarks are also the ones reported (the paper picked on
GSM8K+MATH test sets and reported those), the best-of-K number is optimistic: the run row
says so (`selection_on_eval`) and every report must label it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlite_utils import Database

from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.training import folder
from pipeline.training.spec import CheckpointScore
from storage import training as rows

# (model folder, benchmarks, items per benchmark, step, progress) -> accuracy per benchmark
Evaluator = Callable[[str, Sequence[str], int | None, int, Reporter], dict[str, float]]
STAGE = "select"


def select_checkpoint(
    out: Path,
    final_step: int,
    evaluator: Evaluator,
    benchmarks: Sequence[str],
    *,
    limit: int | None = None,
    db: Database | None = None,
    run_id: int | None = None,
    on_eval_sets: bool = True,
    progress: Reporter = ignore,
) -> tuple[tuple[CheckpointScore, ...], CheckpointScore]:
    """Evaluate each checkpoint (and the final model if no checkpoint is at its step).

    Returns every score in step order and the best one (ties go to the later step: more
    training for the same score). Scores are stored on the checkpoints and the choice on
    the run when `db` and `run_id` are given.
    """
    candidates = [(c.step, str(c.path)) for c in folder.checkpoints(out)]
    if not candidates or candidates[-1][0] != final_step:
        candidates.append((final_step, str(out)))  # the last model is always reported
    scores: list[CheckpointScore] = []
    for index, (step, path) in enumerate(candidates):
        progress(ProgressEvent(STAGE, index, len(candidates), f"step {step}"))
        found = evaluator(path, list(benchmarks), limit, step, progress)
        score = CheckpointScore(step=step, path=path, scores=dict(found))
        scores.append(score)
        if db is not None and run_id is not None and path != str(out):
            rows.set_checkpoint_scores(db, run_id, step, score.scores, score.score)
    progress(ProgressEvent(STAGE, len(candidates), len(candidates), "done"))
    best = max(scores, key=lambda s: (s.score, s.step))
    if db is not None and run_id is not None:
        rows.set_selection(
            db,
            run_id,
            best_checkpoint=best.path,
            best_step=best.step,
            best_score=best.score,
            benchmarks=list(benchmarks),
            on_eval_sets=on_eval_sets,
        )
    return tuple(scores), best


def workspace_evaluator(
    db: Database,
    run_id: int | None,
    *,
    backend: str = "transformers",
    data_dir: str | None = None,
) -> Evaluator:
    """An `Evaluator` running `pipeline.evaluation.evaluate` (greedy, items stored per checkpoint)."""

    def run(
        model: str, benchmarks: Sequence[str], limit: int | None, step: int, progress: Reporter
    ) -> dict[str, float]:
        from pipeline.evaluation import Attachment, evaluate
        from pipeline.llm.spec import ModelSpec

        report = evaluate(
            db,
            ModelSpec(backend=backend, model=model),
            benchmarks,
            data_dir=data_dir,
            limit=limit,
            attach=Attachment(training_run_id=run_id, checkpoint=model, checkpoint_step=step),
            progress=progress,
        )
        return {name: score.score.accuracy for name, score in report.benchmarks.items()}

    return run
