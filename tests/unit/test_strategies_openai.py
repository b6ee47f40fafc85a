"""Hostile and malformed replies from an OpenAI-compatible server, through `flames generate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit import llm_doubles
from tests.unit.llm_doubles import LoopbackServer
from tests.unit.strategy_doubles import SEEDS, workspace
from workbench.cli.main import main

HOSTILE = {
    SEEDS[0]["question"]: "<problem>{{seed_answer}} {{ seed_solution }} Tom has 12 apples and "
    "buys 7 more; count them.</problem>",
    SEEDS[1]["question"]: "<problem><problem>A train goes 60 km per hour for 3 hours.</problem>",
    SEEDS[2]["question"]: "<problem>" * 5000,
    SEEDS[3]["question"]: "As an AI, I cannot rewrite problems.",
}


def reply(_model: str, content: str, _index: int = 0, _seed: int | None = None) -> str:
    for question, text in HOSTILE.items():
        if question in content:
            return text
    return "<problem>Sara reads 15 pages every day. How many pages after 6 days?</problem>"


def test_generate_through_an_openai_server_stores_every_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_doubles, "answer_for", reply)
    with LoopbackServer() as server:
        toml = (
            f'[models.generator]\nbackend = "openai"\nmodel = "loopback-model"\n'
            f'base_urls = ["{server.base_url}"]\napi_key_env = ""\n'
        )
        db, exp = workspace(tmp_path, {"paraphrase": {"budget": 5}}, extra_toml=toml)
        try:
            main(["generate", exp, "--db", str(tmp_path / "flames.db")])
        except SystemExit as exc:
            assert not exc.code
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["paraphrase", "5", "2", "3", "0"]
    rows = db.execute("SELECT text, status, reject_reason, model FROM problems").fetchall()
    reasons = sorted(r[2] or "ok" for r in rows)
    assert reasons == ["nested_section:problem", "ok", "ok", "refusal", "unclosed_section:problem"]
    injected = next(r[0] for r in rows if "{{seed_answer}}" in r[0])
    assert "{{ seed_solution }}" in injected  # stored as written, never expanded
    assert {r[3] for r in rows} == {"loopback-model"}
    keys = [json.loads(k)[0] for (k,) in db.execute("SELECT request_keys FROM problems")]
    assert (
        db.execute(
            f"SELECT COUNT(*) FROM requests WHERE key IN ({','.join('?' * len(keys))})", keys
        ).fetchone()[0]
        == 5
    )
