"""storage/training.py: a run's row, its per-step metrics (live curves), checkpoints, selection."""

from __future__ import annotations

from sqlite_utils import Database

from storage import training as rows


def new_run(db: Database, out: str = "/runs/a") -> int:
    return rows.insert_run(
        db,
        method="step_dpo",
        trainer="dpo",
        base_model="embedded:smollm2-135m-instruct",
        dataset_path="/data/pairs.jsonl",
        dataset_sha256="ab" * 32,
        dataset_rows=16,
        config={"settings": {"lora": True}},
        output_dir=out,
    )


def test_a_run_is_found_by_its_folder_and_ends_with_its_error(db: Database) -> None:
    run_id = new_run(db)
    run = rows.run_for_output(db, "/runs/a")
    assert run is not None and run.id == run_id and run.status == "running"
    assert run.config == {"settings": {"lora": True}} and run.trainer == "dpo"
    rows.finish_run(db, run_id, status="failed", error="out of memory: lower --batch-size")
    failed = rows.get_run(db, run_id)
    assert failed is not None and failed.status == "failed" and failed.ended_at
    assert failed.error == "out of memory: lower --batch-size"
    rows.restart_run(db, run_id, job_id=None)
    again = rows.get_run(db, run_id)
    assert again is not None and again.status == "running" and again.error is None
    assert [r.id for r in rows.list_runs(db)] == [run_id]


def test_metrics_form_curves_and_a_replayed_step_replaces_its_values(db: Database) -> None:
    run_id = new_run(db)
    for step, loss in ((1, 0.69), (2, 0.66), (3, 0.61)):
        rows.add_metrics(db, run_id, step, {"loss": loss, "rewards/margins": step / 10})
    assert rows.metric_series(db, run_id, "loss") == [(1, 0.69), (2, 0.66), (3, 0.61)]
    assert rows.metric_series(db, run_id, "loss", after_step=2) == [(3, 0.61)]
    rows.add_metrics(db, run_id, 3, {"loss": 0.6})  # resumed from step 2: step 3 again
    assert rows.metric_series(db, run_id, "loss")[-1] == (3, 0.6)
    assert rows.metric_names(db, run_id) == ["loss", "rewards/margins"]
    assert rows.latest_metrics(db, run_id) == {"loss": 0.6, "rewards/margins": 0.3}
    run = rows.get_run(db, run_id)
    assert run is not None and run.last_step == 3


def test_checkpoints_selection_and_the_leak_flag(db: Database) -> None:
    run_id = new_run(db)
    rows.add_checkpoint(db, run_id, 4, "/runs/a/checkpoint-4")
    rows.add_checkpoint(db, run_id, 8, "/runs/a/checkpoint-8")
    run = rows.get_run(db, run_id)
    assert run is not None and run.last_checkpoint == "/runs/a/checkpoint-8"
    rows.add_checkpoint(db, run_id, 4, "/runs/a/checkpoint-4")  # re-saved after a resume
    run = rows.get_run(db, run_id)
    assert run is not None and run.last_checkpoint == "/runs/a/checkpoint-8"
    rows.set_checkpoint_scores(db, run_id, 4, {"gsm8k": 0.5, "math500": 0.3}, 0.4)
    saved = rows.list_checkpoints(db, run_id)
    assert [(c.step, c.score) for c in saved] == [(4, 0.4), (8, None)]
    assert saved[0].scores == {"gsm8k": 0.5, "math500": 0.3}
    rows.set_selection(
        db,
        run_id,
        best_checkpoint="/runs/a/checkpoint-4",
        best_step=4,
        best_score=0.4,
        benchmarks=["gsm8k", "math500"],
        on_eval_sets=True,
    )
    run = rows.get_run(db, run_id)
    assert run is not None and run.best_step == 4 and run.selection_on_eval == 1
    assert run.selection_benchmarks == '["gsm8k", "math500"]'
