"""`flames llm run` end to end: SIGKILL mid-run then rerun, and one-line config errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from storage.database import open_db
from tests.unit.llm_doubles import FaultPlan, LoopbackServer, answer_for
from workbench.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 8
COUNT = 600


def flames(*args: str) -> list[str]:
    return [sys.executable, "-c", "from workbench.cli.main import main; main()", *args]


def write_prompts(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            line = (
                {"id": i, "prompt": f"p{i}"}
                if i % 2
                else {"id": i, "messages": [{"role": "user", "content": f"p{i}"}], "tag": "x"}
            )
            handle.write(json.dumps(line) + "\n")


def test_sigkill_mid_run_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    prompts, out, db_path = tmp_path / "p.jsonl", tmp_path / "out.jsonl", tmp_path / "w.db"
    write_prompts(prompts, COUNT)

    # Every 7th prompt fails twice (500 then 429) before it is answered.
    def plan(content: str, seen: int) -> str | None:
        return ("500", "429")[seen] if int(content[1:]) % 7 == 0 and seen < 2 else None

    args = flames(
        "llm",
        "run",
        str(prompts),
        "--out",
        str(out),
        "--db",
        str(db_path),
        "--backend",
        "openai",
        "--concurrency",
        str(CONCURRENCY),
        "--seed",
        "5",
        "--max-new-tokens",
        "16",
    )
    with LoopbackServer(fault=plan, delay_s=0.01) as server:
        args[args.index("--backend") : args.index("--backend")] = ["--base-url", server.base_url]
        first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(server.answered()) < COUNT // 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        time.sleep(0.5)  # let the server finish (and log) what was in flight at the kill
        answered_before = Counter(server.answered())
        assert 0 < len(answered_before) < COUNT, "the kill must land mid-run"
        assert not out.exists()

        rerun = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        answered = Counter(server.answered())

    db = open_db(db_path)
    done_before = {c for c, n in answered_before.items()}
    resent = [c for c, n in answered.items() if n > 1]
    assert all(n <= 2 for n in answered.values())
    assert set(resent) <= done_before
    assert len(resent) <= CONCURRENCY, f"re-sent more than the in-flight requests: {resent}"
    assert sorted(answered) == sorted(f"p{i}" for i in range(COUNT))

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(COUNT))
    for line in lines:
        assert line["response"] == answer_for("loopback-model", f"p{line['id']}", 0, 5)
    assert lines[0]["tag"] == "x" and "error" not in lines[0]
    assert db.execute("SELECT count(*), count(DISTINCT key) FROM requests").fetchone() == (
        COUNT,
        COUNT,
    )
    assert db.execute("SELECT count(*) FROM requests WHERE status = 'done'").fetchone()[0] == COUNT
    assert f"{COUNT} lines" in rerun.stderr


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return int(exit_info.value.code or 0), err


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "p.jsonl"
    write_prompts(path, 3)
    return path


def test_unknown_backend_is_one_line(
    capsys: pytest.CaptureFixture[str], prompts: Path, tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys,
        "llm",
        "run",
        str(prompts),
        "--out",
        str(tmp_path / "o"),
        "--db",
        str(tmp_path / "w.db"),
        "--backend",
        "tpu",
    )
    assert code == 1
    assert err == ["error: unknown backend 'tpu': use one of transformers, vllm, openai"]


def test_missing_model_path_is_one_line(
    capsys: pytest.CaptureFixture[str], prompts: Path, tmp_path: Path
) -> None:
    code, err = run_cli(
        capsys,
        "llm",
        "run",
        str(prompts),
        "--out",
        str(tmp_path / "o"),
        "--db",
        str(tmp_path / "w.db"),
        "--model",
        str(tmp_path / "nope"),
    )
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"error: model path {tmp_path / 'nope'} does not exist")


def test_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str], prompts: Path, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, err = run_cli(
        capsys,
        "llm",
        "run",
        str(prompts),
        "--out",
        str(tmp_path / "o"),
        "--db",
        str(tmp_path / "w.db"),
        "--backend",
        "openai",
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
    )
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"error: cannot reach server http://127.0.0.1:{port}/v1")


def test_bad_prompt_line_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"id": 2}\n')
    code, err = run_cli(
        capsys, "llm", "run", str(bad), "--out", str(tmp_path / "o"), "--db", str(tmp_path / "w.db")
    )
    assert code == 1
    assert err == [
        f"error: {bad}:2: give exactly one of 'prompt' (a string) or 'messages' (a chat list)"
    ]


def test_failed_requests_are_reported_and_written(
    capsys: pytest.CaptureFixture[str], prompts: Path, tmp_path: Path
) -> None:
    plan: FaultPlan = lambda c, seen: "400" if c == "p1" else None  # noqa: E731
    out = tmp_path / "o.jsonl"
    with LoopbackServer(fault=plan) as server:
        code, err = run_cli(
            capsys,
            "llm",
            "run",
            str(prompts),
            "--out",
            str(out),
            "--db",
            str(tmp_path / "w.db"),
            "--backend",
            "openai",
            "--base-url",
            server.base_url,
            "--model",
            "m",
        )
    assert code == 3  # finished, with failures: not success, not a crash
    assert err[-1].startswith("finished with failures: 1 requests given up after 3 tries")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[1]["response"] is None and "injected 400" in lines[1]["error"]
    assert lines[0]["response"] == answer_for("m", "p0")


def test_prompt_file_with_n_samples_adds_responses(tmp_path: Path) -> None:
    from pipeline.llm.prompt_file import run_prompt_file
    from pipeline.llm.spec import SamplingParams
    from tests.unit.llm_doubles import ScriptedBackend

    prompts = tmp_path / "p.jsonl"
    write_prompts(prompts, 2)
    out = tmp_path / "o.jsonl"
    db = open_db(tmp_path / "w.db")
    params = SamplingParams(n=3, seed=1)
    summary = run_prompt_file(db, ScriptedBackend(), prompts, out, params)
    assert (summary.lines, summary.requests, summary.cached, summary.failed) == (2, 6, 0, 0)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[1]["responses"] == [answer_for("double", "p1", i, 1 + i) for i in range(3)]
    assert lines[1]["response"] == lines[1]["responses"][0]
    again = run_prompt_file(db, ScriptedBackend(), prompts, out, params)
    assert again.cached == 6


def test_output_in_a_missing_folder_is_one_line(
    capsys: pytest.CaptureFixture[str], prompts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "no" / "o.jsonl"
    code, err = run_cli(
        capsys, "llm", "run", str(prompts), "--out", str(out), "--db", str(tmp_path / "w.db")
    )
    assert code == 1
    assert err == [f"error: {out}: folder {out.parent} does not exist"]
