"""Every strategy once with the embedded SmolLM2-135M model on 2 seeds: structure only.

A 135M model writes poor mathematics and often ignores the tagged format, so
rejections are expected; what must hold is that nothing crashes, every slot ends
as a stored problem (ok or rejected with a known reason) with its provenance. QFT is
left out: its training stage is exercised on a tiny model in tests/unit/test_qft_training.py.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.generation.generate import generate
from pipeline.llm.backend import Backend, load_backend
from pipeline.llm.spec import EMBEDDED_MODEL, ModelSpec
from pipeline.strategies import STRATEGIES, STRATEGY_NAMES
from tests.unit.strategy_doubles import workspace

pytestmark = pytest.mark.model

# Short replies keep this to a couple of minutes on an idle 2-core CPU.
MAX_NEW_TOKENS = int(os.environ.get("FLAMES_TEST_STRATEGY_TOKENS", "40"))

REASON = re.compile(
    r"^(empty|truncated|refusal|copied_seed|too_short|too_long|duplicate_item"
    r"|(missing|unclosed|duplicate|empty|nested)_section:[a-z_]+|invalid:[a-z_]+)$"
)
PARAMS: dict[str, dict[str, object]] = {
    "suggester_editor": {"rounds": 1},
    "iqc": {"iterations": 1},
    "ask_me_anything": {"max_problems": 2},
    "zero_shot_generation": {"accept_untagged": True},
    "distraction_insertion": {"accept_untagged": True},
}
NAMES = tuple(name for name in STRATEGY_NAMES if name != "qft")


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    loaded = load_backend(ModelSpec(max_batch_size=8))
    yield loaded
    loaded.close()


def test_every_strategy_runs_on_the_embedded_model(tmp_path: Path, backend: Backend) -> None:
    budgets = {name: 4 if name == "ask_me_anything" else 2 for name in NAMES}
    config = {n: {"budget": budgets[n], "params": PARAMS.get(n, {})} for n in NAMES}
    db, exp = workspace(tmp_path, config, max_new_tokens=MAX_NEW_TOKENS)
    reports = generate(db, exp, backend=backend)
    assert [r.strategy for r in reports] == list(NAMES)
    for report in reports:
        assert report.failed == 0
        assert report.requested == budgets[report.strategy]
        assert report.produced + report.rejected_total == report.requested
        assert all(REASON.match(reason) for reason in report.rejected), report.rejected
    cursor = db.execute("SELECT * FROM problems")
    names = [c[0] for c in cursor.description]
    problems = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    assert len(problems) == sum(budgets.values())
    for p in problems:
        strategy = STRATEGIES[p["strategy"]]
        assert p["model"] == EMBEDDED_MODEL and p["answer_rule"] == strategy.answer_rule
        assert (p["status"] == "ok") == (p["reject_reason"] is None)
        if p["status"] == "ok":
            assert p["text"].strip()
        assert set(json.loads(p["template_version"])) == {
            s.name for s in strategy.template_stages()
        }
        keys = json.loads(p["request_keys"])
        assert keys, "every strategy makes at least one model call"
        stored = db.execute(
            f"SELECT COUNT(*) FROM requests WHERE status = 'done' AND key IN "
            f"({','.join('?' for _ in keys)})",
            keys,
        ).fetchone()[0]
        assert stored == len(set(keys))
        outputs = db.execute(
            "SELECT COUNT(*) FROM stage_outputs WHERE problem_id = ?", [p["id"]]
        ).fetchone()[0]
        assert 1 <= outputs <= len(strategy.schedule(json.loads(p["params_json"])["strategy"]))
    again = generate(db, exp, backend=backend)
    assert [(r.produced, r.rejected_total) for r in again] == [
        (r.produced, r.rejected_total) for r in reports
    ]
