"""A stage that leaves failures says so and exits 3; the next run retries them (issue 16
items 3-4), through the real `flames generate` and an OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.jobs import EXIT_WITH_FAILURES
from tests.unit.llm_doubles import FaultPlan, LoopbackServer
from tests.unit.strategy_doubles import SEEDS, workspace
from workbench.cli.main import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_with_failed_requests_exits_3_then_a_rerun_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"on": True}
    target = SEEDS[0]["question"]
    plan: FaultPlan = lambda content, seen: "400" if broken["on"] and target in content else None  # noqa: E731
    with LoopbackServer(fault=plan) as server:
        toml = (
            f'[models.generator]\nbackend = "openai"\nmodel = "loopback-model"\n'
            f'base_urls = ["{server.base_url}"]\napi_key_env = ""\n'
        )
        db, exp = workspace(tmp_path, {"paraphrase": {"budget": 4}}, extra_toml=toml)
        db_path = str(tmp_path / "flames.db")
        code, out, err = run_cli(capsys, "generate", exp, "--db", db_path, "--max-attempts", "2")
        assert code == EXIT_WITH_FAILURES
        assert "finished with failures: 1 problems failed" in err
        assert "given up after 2 tries" in err
        broken["on"] = False
        code, out, err = run_cli(capsys, "generate", exp, "--db", db_path)
        assert code == 0, err
    assert db.execute("SELECT COUNT(*) FROM requests WHERE status = 'failed'").fetchone()[0] == 0
