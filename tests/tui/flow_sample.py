"""A workspace that went through `flames run` (scripted model), for the Runs/Results/Steps tests.

Everything is the product's flow except training, whose double records a run the way
`pipeline.training` does (a row, per-step loss and reward margins, checkpoints with scores)
with fixed times, so snapshots do not move. One rolled-out trace feeds the step inspector.
"""

from __future__ import annotations

import math
import shutil
import zlib
from pathlib import Path

from sqlite_utils import Database

from pipeline.flow.run import ensure_experiment, run_experiment
from pipeline.flow.runner import StageContext, StageResult
from pipeline.flow.stages import STAGE_FUNCTIONS
from pipeline.llm.request import Request
from storage import training
from storage.database import open_db
from storage.traces import (
    NewTrace,
    RolloutRow,
    StepRow,
    TraceValues,
    ensure_trace_set,
    insert_traces,
    save_rollouts,
    save_steps,
    save_values,
)
from tests.unit.strategy_doubles import SECTIONS, STORIES, ScriptedBackend

STEPS = 12


def reply(prompt: str, request: Request) -> str:
    """Tagged sections for the strategies; a boxed answer for solver and eval prompts."""
    n = zlib.crc32(prompt.encode()) % 90 + 10
    if "\\boxed{}" in prompt:
        # Samples disagree on odd problems, so `strict` keeps fewer than `first`.
        answer = n % 3 + (request.sample_index if n % 2 else 0)
        return f"We add: $\\frac{{{n}}}{{2}} + \\sqrt{{4}}$.\nThe total is \\boxed{{{answer}}}"
    if "Here is a math problem:" in prompt:  # distraction insertion: the seed plus a detail
        seed = prompt.split("Here is a math problem:", 1)[1].split("\n\nAdd ", 1)[0].strip()
        return f"<problem>{seed} A neighbour keeps {n} goats in a red barn.</problem>"
    story = STORIES[n % len(STORIES)].format(n=n, m=n % 7 + 2)
    problem = f"<problem>{story}</problem>"
    return problem + "".join(f"<{tag}>{n} with detail</{tag}>" for tag in SECTIONS)


def recorded_training(ctx: StageContext) -> StageResult:
    """What a finished TRL run leaves in the workspace, minus the model itself."""
    method = str(ctx.node.inputs["method"])
    out = ctx.node_dir() / "model"
    out.mkdir(exist_ok=True)
    arm_id = ctx.db.execute(
        "SELECT id FROM arms WHERE experiment_id = ? AND name = ?", [ctx.experiment_id, ctx.arm]
    ).fetchone()
    run_id = training.insert_run(
        ctx.db,
        method=method,
        trainer="dpo" if method in ("dpo", "step_dpo") else "sft",
        base_model="embedded:smollm2-135m-instruct",
        dataset_path=str(ctx.upstream["dataset"]["path"]),
        dataset_sha256="0" * 64,
        dataset_rows=int(ctx.upstream["dataset"].get("rows") or 0),
        config={"arm": ctx.arm, "method": method},
        output_dir=str(out),
        experiment_id=ctx.experiment_id,
        arm_id=int(arm_id[0]) if arm_id else None,
    )
    for step in range(1, STEPS + 1):
        metrics = {"loss": 2.0 * math.exp(-step / 5) + 0.3, "learning_rate": 1e-5}
        if method == "dpo":
            metrics["rewards/margins"] = 0.1 * step
        training.add_metrics(ctx.db, run_id, step, metrics)
    for step in (6, 12):
        training.add_checkpoint(ctx.db, run_id, step, str(out / f"checkpoint-{step}"))
        training.set_checkpoint_scores(
            ctx.db, run_id, step, {"champ_heldout": step / 40}, step / 40
        )
    training.set_progress(ctx.db, run_id, last_step=STEPS, total_steps=STEPS)
    training.finish_run(ctx.db, run_id, status="done")
    ctx.db.execute(
        "UPDATE training_runs SET started_at = '2026-01-01T00:00:00.000Z',"
        " ended_at = '2026-01-01T00:01:00.000Z' WHERE id = ?",
        [run_id],
    )
    return StageResult("trained (recorded double)", {"model": str(out), "training_run_id": run_id})


def add_trace(db: Database) -> None:
    """One incorrect trace split into 3 steps, rolled out: Q = 1, 1, 0 (critical step 3)."""
    steps = ["First, $x = \\frac{6}{2} = 3$.", "Then $3 + 4 = 7$.", "So the answer is $9$."]
    text = "\n".join(steps)
    trace_set = ensure_trace_set(
        db,
        "tui-sample",
        experiment_id=1,
        arm="suggester_editor",
        model="scripted",
        params_json="{}",
    )
    insert_traces(
        db,
        trace_set.id,
        [NewTrace(item="p1", sample_index=0, text=text, question="What is $\\frac{6}{2} + 4$?")],
    )
    trace_id = int(db.execute("SELECT id FROM traces").fetchone()[0])
    rows, start = [], 0
    for index, step in enumerate(steps, start=1):
        rows.append(StepRow(index, start, start + len(step), step))
        start += len(step) + 1
    save_steps(db, trace_id, "lines", rows)
    save_values(
        db,
        [TraceValues(trace_id, [1, 1, 1, 0], [0.8, 0.6, 0.4, 0.0], 3, "done", "scripted")],
    )
    save_rollouts(
        db,
        [
            RolloutRow(
                trace_id,
                prefix,
                k,
                f"r{prefix}{k}",
                "stop",
                str(7 if prefix < 3 else 9),
                "correct" if prefix < 3 else "incorrect",
                int(prefix < 3),
            )
            for prefix in range(4)
            for k in range(2)
        ],
    )


def build_flow_workspace(path: Path) -> None:
    """The quickstart run end to end with the doubles above, plus one rolled-out trace."""
    db = open_db(path)
    ensure_experiment(db, "quickstart", "quickstart")
    report = run_experiment(
        db,
        "quickstart",
        out_dir=path.parent / "out",
        backend=ScriptedBackend(reply),
        stage_functions={**STAGE_FUNCTIONS, "train": recorded_training},
    )
    assert report.ok, [(o.node.label, o.error) for o in report.outcomes if o.error]
    add_trace(db)
    db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('experiment_id', '1')")
    db.conn.close()


def copy_workspace(template: Path, target: Path) -> Path:
    """A private copy of a built workspace (WAL checkpointed into the main file first)."""
    db = open_db(template)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    shutil.copy(template, target)
    return target
