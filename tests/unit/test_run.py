"""`flames run` end to end on the quickstart preset, with a scripted model for every role."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.flow.run import STAGES, ensure_experiment, run_experiment
from pipeline.llm.request import Request
from pipeline.progress import ProgressEvent
from tests.unit.strategy_doubles import ScriptedBackend

SECTIONS = ("suggestions", "concepts", "answer", "question", "result", "distractors")


def reply(prompt: str, request: Request) -> str:
    """A reply carrying every tag a stage may ask for; solver prompts get a boxed answer."""
    n = zlib.crc32(prompt.encode()) % 90 + 10
    if "\\boxed{}" in prompt:
        return f"Add them up.\nThe total is \\boxed{{{n}}}"
    problem = f"<problem>A farmer has {n} cows and buys {n % 7 + 2} more. How many now?</problem>"
    return problem + "".join(f"<{tag}>{n} with detail</{tag}>" for tag in SECTIONS)


def test_quickstart_runs_every_stage(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLAMES_DATA_DIR", raising=False)
    config, notes = ensure_experiment(db, "quickstart", "quickstart")
    assert any("created experiment" in note for note in notes)
    events: list[ProgressEvent] = []
    finished: list[str] = []
    lines = run_experiment(
        db,
        "quickstart",
        out_dir=tmp_path / "out",
        backend=ScriptedBackend(reply),
        progress=events.append,
        on_summary=lambda stage, summary: finished.append(stage),
    )
    assert [line.split(":")[0] for line in lines] == list(STAGES)
    assert finished == list(STAGES)
    # One overall progress for the whole run: never backwards, full at the end.
    assert {e.stage for e in events} == {"run"}
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[-1].done == events[-1].total
    produced = db.execute("SELECT COUNT(*) FROM problems WHERE status = 'ok'").fetchone()[0]
    assert produced > 0
    assert db.execute("SELECT COUNT(*) FROM solutions").fetchone()[0] == produced * config.solve.k
    # Without benchmark files decontamination is skipped, and says so.
    assert any("decontaminate: skipped" in line for line in lines)
    assert (
        db.execute("SELECT COUNT(*) FROM scores WHERE decontam_overlap IS NOT NULL").fetchone()[0]
        == 0
    )
    blend = tmp_path / "out" / "quickstart-blend.jsonl"
    records = [json.loads(line) for line in blend.read_text(encoding="utf-8").splitlines()]
    assert records and all(r["messages"][0]["role"] == "user" for r in records)
    # Running again resumes: nothing new is generated or solved.
    again = run_experiment(
        db, "quickstart", out_dir=tmp_path / "out", backend=ScriptedBackend(reply)
    )
    assert "0 new solutions" in next(line for line in again if line.startswith("solve"))
