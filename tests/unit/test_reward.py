"""Reward-model scores: the vLLM pooling scorer against a loopback server, a local
sequence-classification model built from a config, resumable scoring, and judge_reward
training on the best-rewarded solution."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from pipeline.config import config_to_data, parse_config
from pipeline.errors import FlamesError
from pipeline.llm.spec import ModelSpec
from pipeline.selection import Selection, kept_ids, training_solution_sql
from pipeline.solving.reward import (
    OpenAIRewardScorer,
    load_scorer,
    reward_from_pooling,
    score_rewards,
)
from tests.tui.sample import build_workspace
from workbench.cli.main import cli


class PoolingServer:
    """A loopback `/pooling` route: the reward is the solution's length / 100 (per token rows)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, **body})
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                solution = body["messages"][-1]["content"]
                rows = [[0.0], [len(solution) / 100]]  # one score per token, the last counts
                payload = json.dumps({"object": "list", "data": [{"index": 0, "data": rows}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> PoolingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    db = build_workspace(tmp_path / "w.db", 30)
    # Different lengths, so the reward (length) picks a solution other than the first.
    db.execute("UPDATE solutions SET text = text || substr('..........', 1, (id * 7) % 10)")
    return db


def spec(url: str, **extra: Any) -> ModelSpec:
    return ModelSpec(backend="openai", model="rm", base_urls=(url,), max_retries=3, **extra)


def test_pooling_response_shapes() -> None:
    assert reward_from_pooling({"data": [{"data": [[0.1], [0.7]]}]}) == 0.7  # per token
    assert reward_from_pooling({"data": [{"data": [2.5]}]}) == 2.5  # per sequence
    assert reward_from_pooling({"data": [{"data": [0.2, 0.8]}]}) == 0.8  # classify: last class
    with pytest.raises(ValueError, match="no data"):
        reward_from_pooling({"error": "x"})


def test_pooling_scorer_scores_resumes_and_retries(db: Database) -> None:
    with PoolingServer(fail_first=2) as server:
        scorer = OpenAIRewardScorer(spec(server.base_url))
        report = score_rewards(db, "demo", scorer, chunk=7)
        scorer.close()
        assert server.requests[0]["path"] == "/pooling"  # beside /v1, as vLLM serves it
        assert server.requests[0]["messages"][0]["role"] == "user"
        ok = "problem_id IN (SELECT id FROM problems WHERE status = 'ok')"
        total = db.execute(f"SELECT COUNT(*) FROM solutions WHERE {ok}").fetchone()[0]
        assert report.scored == total and report.failed == 0  # the 503s were retried
        rows = db.execute(f"SELECT text, reward, reward_model FROM solutions WHERE {ok}").fetchall()
        assert all(r[1] == pytest.approx(len(r[0]) / 100) and r[2] == "rm" for r in rows)
        sent = len(server.requests)
        scorer = OpenAIRewardScorer(spec(server.base_url))
        again = score_rewards(db, "demo", scorer)  # resumable: nothing left to score
        scorer.close()
        assert (again.todo, again.scored, len(server.requests)) == (0, 0, sent)


def test_judge_reward_trains_on_the_best_rewarded_solution(db: Database, tmp_path: Path) -> None:
    from pipeline.datasets.blend import export_blend

    with PoolingServer() as server:
        scorer = OpenAIRewardScorer(spec(server.base_url))
        score_rewards(db, "demo", scorer)
        scorer.close()
    selection = Selection(policy="judge_reward", decontam_max=None)
    ids = kept_ids(db, 1, selection)
    assert ids
    sql = training_solution_sql(selection.policy, allow_truncated=False)
    for pid in ids:
        chosen = db.execute(f"SELECT {sql} FROM problems p WHERE p.id = ?", [pid]).fetchone()[0]
        best = db.execute(
            "SELECT id FROM solutions WHERE problem_id = ? ORDER BY reward DESC, sample_index",
            [pid],
        ).fetchone()[0]
        assert chosen == best
    result = export_blend(db, 1, {"iqc": 1}, 3, selection, tmp_path / "rm.jsonl")
    assert result.total_written == 3


def tiny_reward_model(folder: Path) -> Path:
    """A 2-layer Llama sequence classifier with a word-level tokenizer, built offline."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "the", "answer", "is", "7", "8", "step", "problem", "..."]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, num_labels=1, pad_token_id=0,
    )  # fmt: skip
    LlamaForSequenceClassification(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def test_local_sequence_classifier_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = build_workspace(path, 12)
    model = tiny_reward_model(tmp_path / "rm")
    config = parse_config(
        f'[models.reward]\nbackend = "transformers"\nmodel = "{model}"\ndevice = "cpu"\n',
        source="t",
        name="demo",
    )
    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])
    result = CliRunner().invoke(cli, ["reward", "demo", "--db", str(path)])
    assert result.exit_code == 0, (result.output, result.exception)
    rewards = [r[0] for r in db.execute("SELECT reward FROM solutions")]
    assert rewards and all(isinstance(r, float) for r in rewards) and len(set(rewards)) > 1
    assert "0 without a score" in result.output
    again = CliRunner().invoke(cli, ["reward", "demo", "--db", str(path)])
    assert "0 solutions scored" in again.output and "(0 were waiting)" in again.output


def test_a_model_without_a_reward_head_and_a_missing_config_are_one_line_errors(
    tmp_path: Path,
) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tiny_reward_model(tmp_path / "rm")
    config = LlamaConfig.from_pretrained(folder)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")  # a language model, no head
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).exists():
            (tmp_path / "lm" / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(FlamesError, match="has no trained reward head"):
        load_scorer(ModelSpec(backend="transformers", model=str(tmp_path / "lm"), device="cpu"))
    with pytest.raises(FlamesError, match="vllm serve MODEL --runner pooling"):
        load_scorer(ModelSpec(backend="vllm", model="x"))
    path = tmp_path / "w.db"
    build_workspace(path, 3).conn.close()
    result = CliRunner().invoke(cli, ["reward", "demo", "--db", str(path)])
    assert "has no [models.reward]" in str(result.exception)
