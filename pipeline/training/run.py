"""`train(spec)`: one training run, launched through `accelerate launch`, recorded, resumable.

The launching process checks everything it can without a model (data fields, accelerate
config, GPUs, precision), takes the output folder, records the run, writes the plan, and
launches the worker (`pipeline.training.worker`) as `accelerate launch ... -m
pipeline.training.worker PLAN`. It turns the worker's events into progress and its last
error into the run's error. The same call again resumes from the newest checkpoint; a
finished folder is never retrained.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from sqlite_utils import Database

from pipeline.errors import FlamesError
from pipeline.jobs import JOB_ID_ENV
from pipeline.llm.models import resolve_model
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.training import events, folder, launch
from pipeline.training.datafile import DataFile, check_data_file
from pipeline.training.mapping import load_dtype, lora_kwargs, trainer_kwargs
from pipeline.training.outcome import Finisher, Say
from pipeline.training.selection import Evaluator
from pipeline.training.spec import TrainResult, TrainSpec
from storage import training as rows
from storage.database import open_db

STAGE = "train"


def train(
    spec: TrainSpec,
    *,
    progress: Reporter = ignore,
    db_path: str | None = None,
    experiment_id: int | None = None,
    arm_id: int | None = None,
    evaluator: Evaluator | None = None,
    selection_on_eval: bool = True,
    say: Say | None = None,
) -> TrainResult:
    """Train `spec` (or resume it, or report it already done) and return where the model is.

    With `db_path` the run gets a `training_runs` row, per-step metrics and checkpoints.
    With `settings.select_benchmarks`, its checkpoints are evaluated (by `evaluator`, else
    `pipeline.evaluation` on the workspace) and the best is recorded; `selection_on_eval`
    says whether those benchmarks are also the reported ones (best-of-K is then optimistic).
    Raises FlamesError with one line when the input is wrong or the run fails; the run's row
    is then failed with that line and its checkpoints stay in the folder.
    """
    tell = say or _stderr
    spec = _absolute_paths(spec)
    out = spec.out_dir
    data = check_data_file(spec.data, spec.trainer)
    resolve_model(spec.model)  # a missing model path fails now, not after the launch
    config = launch.resolve_config(spec.settings.accelerate_config)
    launch.check_backend_installed(config)
    gpus = launch.visible_gpus()
    precision = launch.resolve_precision(spec.settings.precision, gpus)
    launch.processes_for(config, gpus)  # GPU-only configs fail here on a CPU machine
    db = open_db(db_path) if db_path else None
    with folder.owner_lock(out):
        done = folder.finished_record(out)
        if done is not None:
            _check_same_data(out, done.get("dataset_sha256"), data, finished=True)
            tell(
                f"{out} already holds a finished run ({done.get('steps', '?')} steps): not retrained"
            )
            finish = Finisher(spec, db, _run_id(db, out), tell, evaluator, selection_on_eval)
            return finish(int(done.get("steps") or 0), progress, already_done=True)
        _check_resumable(out, spec, data)
        folder.wait_for_old_worker(out)
        run_id = _record_start(db, spec, data, experiment_id, arm_id) if db else None
        resume = folder.newest_checkpoint(out)
        if resume is not None:
            tell(f"resumed from step {resume.step} ({resume.path.name})")
        plan = {
            "spec": spec.to_json(),
            "run_id": run_id,
            "db_path": str(Path(db_path).resolve()) if db_path else None,
            "dataset_sha256": data.sha256,
            "resume_from": str(resume.path) if resume else None,
            "dtype": load_dtype(precision, lora=spec.settings.lora),
            "lora": lora_kwargs(spec.settings),
            "trainer_kwargs": trainer_kwargs(spec, precision=precision, gpus=gpus),
            "owner_pid": os.getpid(),
        }
        plan_file = folder.plan_path(out)
        _write_atomic(plan_file, json.dumps(plan, indent=2))
        argv = launch.launch_argv(
            config,
            gpus=gpus,
            precision=precision,
            plan_path=str(plan_file),
            threads=launch.cpu_threads(),
        )
        steps = _run_worker(argv, progress, db, run_id)
        finish = Finisher(spec, db, run_id, tell, evaluator, selection_on_eval)
        return finish(steps, progress, resumed_from=resume.step if resume else None)


def _run_worker(
    argv: list[str], progress: Reporter, db: Database | None, run_id: int | None
) -> int:
    """Run the launcher; events become progress; a failure marks the run and raises one line."""
    error: str | None = None
    step = 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Its own session: a signal meant for us (Ctrl-C, a job's cancel) is passed on by us to
    # the launcher *and* the worker, which the launcher alone would not do.
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, passed on through our own stderr below
        text=True,
        bufsize=1,
        env=env,
        start_new_session=True,
    )
    try:
        with _cancel_on_sigterm():
            assert child.stdout is not None
            for line in child.stdout:
                event = events.parse(line)
                if event is None:
                    sys.stderr.write(line)
                    continue
                if event["kind"] == "error":
                    error = str(event.get("message"))
                step = int(event.get("step") or step)
                _report(progress, event)
            code = child.wait()
    except (KeyboardInterrupt, _Cancelled) as exc:
        _stop(child)
        message = f"cancelled at step {step}; run the same command again to resume"
        if db is not None and run_id is not None:
            rows.finish_run(db, run_id, status="cancelled", error=message)
        if isinstance(exc, KeyboardInterrupt):
            raise  # the CLI says how to resume and exits 130
        raise FlamesError(message) from exc
    if code != 0 or error is not None:
        message = error or f"the training worker exited with code {code}; see the output above"
        if db is not None and run_id is not None:
            rows.finish_run(db, run_id, status="failed", error=message)
        raise FlamesError(message)
    return step


def _record_start(
    db: Database,
    spec: TrainSpec,
    data: DataFile,
    experiment_id: int | None,
    arm_id: int | None,
) -> int:
    """The run's row: a new one, or the folder's existing one marked running again."""
    job = os.environ.get(JOB_ID_ENV)
    job_id = int(job) if job and job.isdigit() else None
    existing = rows.run_for_output(db, str(spec.out_dir))
    if existing is not None:
        rows.restart_run(db, existing.id, job_id=job_id)
        return existing.id
    return rows.insert_run(
        db,
        method=spec.method,
        trainer=spec.trainer,
        base_model=spec.model,
        dataset_path=str(data.path),
        dataset_sha256=data.sha256,
        dataset_rows=data.rows,
        config=spec.to_json(),
        output_dir=str(spec.out_dir),
        experiment_id=experiment_id,
        arm_id=arm_id,
        job_id=job_id,
    )


def _absolute_paths(spec: TrainSpec) -> TrainSpec:
    """Local paths made absolute: the plan, the run row and the model record outlive the cwd."""
    model = Path(spec.model).expanduser()
    return dataclasses.replace(
        spec,
        data=str(Path(spec.data).expanduser().resolve()),
        out=str(spec.out_dir),
        model=str(model.resolve()) if model.exists() else spec.model,
    )


def _run_id(db: Database | None, out: Path) -> int | None:
    row = rows.run_for_output(db, str(out)) if db is not None else None
    return row.id if row else None


def _check_resumable(out: Path, spec: TrainSpec, data: DataFile) -> None:
    """An unfinished run in `out` is resumed only with the same data, method and model."""
    plan_file = folder.plan_path(out)
    if not plan_file.is_file():
        return
    try:
        old = json.loads(plan_file.read_text(encoding="utf-8"))
        before = TrainSpec.from_json(old["spec"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # an unreadable plan is rewritten below
    _check_same_data(out, old.get("dataset_sha256"), data, finished=False)
    for name in ("method", "model"):
        if getattr(before, name) != getattr(spec, name):
            raise FlamesError(
                f"{out} holds an unfinished run with {name} {getattr(before, name)!r}, not "
                f"{getattr(spec, name)!r}; resume it with the same {name}, or choose another --out"
            )
    if before.settings.lora != spec.settings.lora:
        raise FlamesError(
            f"{out} holds an unfinished {'LoRA' if before.settings.lora else 'full'} run; "
            "resume it the same way (--lora/--full), or choose another --out"
        )


def _check_same_data(out: Path, sha256: Any, data: DataFile, *, finished: bool) -> None:
    if isinstance(sha256, str) and sha256 != data.sha256:
        state = "a finished" if finished else "an unfinished"
        raise FlamesError(
            f"{out} holds {state} run trained on other data (sha256 {sha256[:12]}, this file "
            f"{data.sha256[:12]}); choose another --out"
        )


def _report(progress: Reporter, event: dict[str, Any]) -> None:
    kind = event["kind"]
    total = event.get("total")
    step = int(event.get("step") or 0)
    if kind in ("begin", "step"):
        progress(
            ProgressEvent(STAGE, step, int(total) if total else None, _detail(event.get("metrics")))
        )
    elif kind == "checkpoint":
        progress(
            ProgressEvent(
                STAGE, step, int(total) if total else None, f"saved {Path(event['path']).name}"
            )
        )


def _detail(metrics: Any) -> str:
    """The few numbers a progress line shows: loss, learning rate, speed, DPO margin."""
    if not isinstance(metrics, dict):
        return ""
    parts = []
    for name, label, fmt in (
        ("loss", "loss", "{:.4f}"),
        ("rewards/margins", "margin", "{:.3f}"),
        ("rewards/accuracies", "acc", "{:.2f}"),
        ("learning_rate", "lr", "{:.1e}"),
        ("tokens_per_s", "tok/s", "{:.0f}"),
    ):
        if isinstance(metrics.get(name), int | float):
            parts.append(f"{label} {fmt.format(metrics[name])}")
    return "  ".join(parts)


class _Cancelled(Exception):
    """SIGTERM arrived (a job cancel): stop the worker and record the run cancelled."""


@contextmanager
def _cancel_on_sigterm() -> Iterator[None]:
    if not _in_main_thread():  # signal handlers can only be set there
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Cancelled()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _stop(child: subprocess.Popen[str]) -> None:
    """SIGTERM the launcher's whole session (launcher and worker); SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
