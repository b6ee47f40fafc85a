"""After a run's worker: merge the adapter if asked, select a checkpoint if asked, mark it done.

Also what a finished folder reports when its command runs again (nothing is retrained, a
recorded selection is reused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.llm.models import merge_adapter
from pipeline.progress import Reporter
from pipeline.training import folder
from pipeline.training.selection import Evaluator, select_checkpoint, workspace_evaluator
from pipeline.training.spec import CheckpointScore, TrainResult, TrainSpec
from storage import training as rows

Say = Callable[[str], None]


@dataclass(frozen=True)
class Finisher:
    """After the worker: merge if asked, select a checkpoint if asked, mark the run done."""

    spec: TrainSpec
    db: Database | None
    run_id: int | None
    tell: Say
    evaluator: Evaluator | None
    selection_on_eval: bool

    def __call__(
        self,
        steps: int,
        progress: Reporter,
        *,
        already_done: bool = False,
        resumed_from: int | None = None,
    ) -> TrainResult:
        out = self.spec.out_dir
        merged = None
        if self.spec.settings.merge and (out / "adapter_config.json").is_file():
            self.tell(f"merging the LoRA adapter into full weights: {out}/merged")
            merged = str(merge_adapter(out))
        db, run_id = self.db, self.run_id
        if db is not None and run_id is not None:
            rows.set_progress(db, run_id, last_step=steps or None)
            rows.finish_run(db, run_id, status="done")
        scores, best = self._select(steps, progress)
        last = folder.newest_checkpoint(out)
        return TrainResult(
            run_id=run_id,
            output_dir=str(out),
            model_dir=str(out),
            steps=steps,
            resumed_from=resumed_from,
            already_done=already_done,
            last_checkpoint=str(last.path) if last else None,
            best=best,
            checkpoint_scores=scores,
            merged_dir=merged,
            final_metrics=rows.latest_metrics(db, run_id) if db and run_id else {},
        )

    def _select(
        self, steps: int, progress: Reporter
    ) -> tuple[tuple[CheckpointScore, ...], CheckpointScore | None]:
        settings = self.spec.settings
        if not settings.select_benchmarks:
            return (), None
        stored = self._stored_selection()
        if stored is not None:
            return stored
        evaluator = self.evaluator
        if evaluator is None and self.db is not None:
            evaluator = workspace_evaluator(self.db, self.run_id)
        if evaluator is None:
            self.tell(
                "checkpoint selection skipped: it stores its evaluations in a workspace (--db)"
            )
            return (), None
        self.tell(
            f"checkpoint selection on {', '.join(settings.select_benchmarks)}"
            + (
                " (also reported: the best-of-K score is optimistic)"
                if self.selection_on_eval
                else ""
            )
        )
        return select_checkpoint(
            self.spec.out_dir,
            steps,
            evaluator,
            settings.select_benchmarks,
            limit=settings.select_limit,
            db=self.db,
            run_id=self.run_id,
            on_eval_sets=self.selection_on_eval,
            progress=progress,
        )

    def _stored_selection(
        self,
    ) -> tuple[tuple[CheckpointScore, ...], CheckpointScore | None] | None:
        """The selection a finished run already recorded (rerunning the command repeats none)."""
        if self.db is None or self.run_id is None:
            return None
        run = rows.get_run(self.db, self.run_id)
        if run is None or run.best_checkpoint is None:
            return None
        scored = tuple(
            CheckpointScore(c.step, c.path, c.scores)
            for c in rows.list_checkpoints(self.db, self.run_id)
            if c.scores is not None
        )
        best = next((c for c in scored if c.path == run.best_checkpoint), None)
        return (scored, best) if best is not None else None
