"""One selection everywhere: filter, blend, export, `flames run` and the Filters screen's index
keep exactly the same problems for every policy and threshold combination.

The experiment's [filter] config is set to each combination; every face then runs with no
selection flags (so each must default to the config), and once more with the flags the
Filters screen's "CLI:" line would show (so the line reproduces the screen).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from pipeline.config import config_to_data, parse_config
from pipeline.flow.graph import DEFAULT_ARM, Node, build_graph
from pipeline.flow.runner import StageContext
from pipeline.flow.stages import blend_stage, select_stage
from pipeline.progress import ignore
from pipeline.selection import Policy, Selection, experiment_selection, kept_ids
from pipeline.selection.index import load_index
from tests.tui.sample import build_workspace
from workbench.cli.main import cli

# Thresholds set in the config ([filter] keys); None leaves the key out (the threshold is off).
CONFIGS: list[dict[str, Any]] = [
    {},
    {"judge_min": 0.4, "near_dup_max": 0.6},
    {"judge_min": None, "near_dup_max": 0.3, "drop_exact_dups": False, "allow_truncated": True},
    {"decontam_max": 0.2, "honour_marks": False},
]


def sample(path: Path) -> Database:
    """The TUI sample workspace with every signal a selection reads made interesting."""
    db = build_workspace(path, 60)
    db.execute("UPDATE solutions SET text = text || ' (solution ' || id || ')'")
    db.execute("UPDATE solutions SET finish_reason = 'stop'")
    db.execute("UPDATE solutions SET finish_reason = 'length' WHERE problem_id % 7 = 0")
    db.execute(
        "UPDATE solutions SET finish_reason = 'length' WHERE (problem_id + sample_index) % 5 = 0"
    )
    db.execute(
        "UPDATE solutions SET extracted_answer = NULL WHERE problem_id % 6 = 1 AND sample_index = 0"
    )
    db.execute("UPDATE solutions SET reward = ((id * 37) % 11) / 10.0 WHERE id % 4 != 0")
    db.execute("UPDATE solutions SET reward = NULL WHERE problem_id % 10 = 5")
    db.execute("UPDATE scores SET first_is_majority = 0 WHERE problem_id % 3 = 0")
    db.execute(
        "UPDATE scores SET majority_share = 0.34, first_is_majority = 0, all_agree = 0 "
        "WHERE problem_id % 5 = 2"
    )
    db.execute("UPDATE scores SET is_exact_dup = 1 WHERE problem_id % 9 = 0")
    db.execute("UPDATE scores SET judge_score = NULL WHERE problem_id % 8 = 0")
    db.execute("UPDATE scores SET reference_agrees = problem_id % 2")
    db.execute("INSERT INTO marks (problem_id, mark) VALUES (2, 'drop'), (3, 'keep'), (4, 'flag')")
    return db


# judge_reward needs a reward model in the config (the scores are already in the sample).
REWARD_MODEL = (
    '[models.reward]\nbackend = "openai"\nmodel = "rm"\nbase_urls = ["http://127.0.0.1:1/v1"]\n'
)


def reward_model(policy: Policy) -> str:
    return REWARD_MODEL if policy is Policy.JUDGE_REWARD else ""


def set_filter(db: Database, policy: Policy, values: dict[str, Any]) -> None:
    lines = [f'policy = "{policy.value}"']
    for key, value in values.items():
        if value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    config = parse_config(
        reward_model(policy) + "[filter]\n" + "\n".join(lines) + "\n", source="test"
    )
    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])


def exported_ids(db: Database, path: Path) -> list[int]:
    by_text = {str(text): int(pid) for pid, text in db.execute("SELECT id, text FROM problems")}
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(by_text[row["messages"][0]["content"]] for row in rows)


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Database]:
    path = tmp_path_factory.mktemp("everywhere") / "w.db"
    return path, sample(path)


@pytest.mark.parametrize(
    "values", CONFIGS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "defaults"
)
@pytest.mark.parametrize("policy", list(Policy))
def test_every_face_keeps_the_same_problems(
    workspace: tuple[Path, Database], tmp_path: Path, policy: Policy, values: dict[str, Any]
) -> None:
    path, db = workspace
    set_filter(db, policy, values)
    selection = experiment_selection(db, "demo")
    assert selection == Selection(policy=policy, **values)
    expected = kept_ids(db, 1, selection)

    # The Filters screen counts a numpy snapshot.
    assert load_index(db, 1).kept_ids(selection) == expected

    # flames filter, bare and with the screen's CLI line flags.
    bare, flagged = tmp_path / "bare.txt", tmp_path / "flagged.txt"
    invoke(["filter", "demo", "--db", str(path), "--ids", str(bare)])
    invoke(["filter", "demo", "--db", str(path), "--ids", str(flagged), *selection.cli_args()])
    assert [int(i) for i in bare.read_text().split()] == expected
    assert [int(i) for i in flagged.read_text().split()] == expected

    # flames export sft: every kept problem, one example each.
    if expected:
        out = tmp_path / "sft.jsonl"
        invoke(["export", "sft", "--db", str(path), "-e", "demo", "--out", str(out)])
        assert exported_ids(db, out) == expected
    else:
        result = CliRunner().invoke(cli, ["export", "sft", "--db", str(path), "-e", "demo"])
        assert "no problem is kept" in str(result.exception)

    # flames blend with each strategy's kept count as its ratio: everything kept, once.
    counts: dict[str, int] = {}
    for pid, strategy in db.execute("SELECT id, strategy FROM problems"):
        if pid in expected:
            counts[strategy] = counts.get(strategy, 0) + 1
    if counts:
        out = tmp_path / "blend.jsonl"
        ratios = [f"--ratio={name}={n}" for name, n in counts.items()]
        invoke(["blend", "--db", str(path), "-e", "demo", *ratios, "--total", str(len(expected)),
                "--out", str(out)])  # fmt: skip
        assert exported_ids(db, out) == expected

    # flames run's select and blend stages read the same config (each strategy enabled at
    # its size in the sample, so the run's one arm owns every problem).
    sizes = dict(db.execute("SELECT strategy, COUNT(*) FROM problems GROUP BY strategy"))
    config = parse_config(
        "".join(f"[strategies.{name}]\nbudget = {n}\n" for name, n in sizes.items())
        + reward_model(policy)
        + "[filter]\n"
        + "\n".join(
            [f'policy = "{policy.value}"']
            + [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
        )
        + "\n[blend]\n"
        + f"total = {max(1, len(expected))}\n"
        + "ratios = { "
        + ", ".join(f"{name} = {n}" for name, n in (counts or {"iqc": 1}).items())
        + " }\n",
        source="test",
        name="demo",
    )
    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])
    graph = build_graph(config)
    nodes = graph.arm_stages[DEFAULT_ARM]
    select = stage_context(db, graph.nodes[nodes["select"]], {}, tmp_path / "run")
    summary = select_stage(select).summary
    assert re.match(rf"{len(expected)} of \d+ generated kept by the selection", summary), summary
    if counts:
        kept = {"kept": len(expected), "digest": "-"}
        blend = blend_stage(
            stage_context(db, graph.nodes[nodes["blend"]], {"select": kept}, tmp_path / "run")
        )
        assert exported_ids(db, Path(blend.output["path"])) == expected


def stage_context(db: Database, node: Node, upstream: dict[str, Any], out: Path) -> StageContext:
    """What `flames run` hands a stage function, for calling one stage on its own."""
    return StageContext(db, 1, node, "k", upstream, out, None, None, ignore)


def test_the_sample_tells_the_policies_apart(workspace: tuple[Path, Database]) -> None:
    """Guards the test above: the policies keep different sets here (first and
    majority_or_first keep the same problems by definition; they train on different ones)."""
    _, db = workspace
    kept = {policy: tuple(kept_ids(db, 1, Selection(policy=policy))) for policy in Policy}
    assert len(set(kept.values())) >= 6, kept
    strict = kept_ids(db, 1, Selection())
    assert strict != kept_ids(db, 1, Selection(allow_truncated=True))
    assert strict != kept_ids(db, 1, Selection(drop_exact_dups=False))
    assert strict != kept_ids(db, 1, Selection(honour_marks=False))


@pytest.mark.parametrize(
    "values", CONFIGS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "defaults"
)
@pytest.mark.parametrize("policy", list(Policy))
def test_the_inspector_names_why_exactly_the_dropped_problems_are_dropped(
    workspace: tuple[Path, Database], policy: Policy, values: dict[str, Any]
) -> None:
    """`failed_checks` runs each test of the kept condition on its own: a problem fails some
    test exactly when the selection drops it."""
    from pipeline.selection.selection import failed_checks

    _, db = workspace
    selection = Selection(policy=policy, **values)
    kept = set(kept_ids(db, 1, selection))
    for (pid,) in db.execute("SELECT id FROM problems WHERE experiment_id = 1").fetchall():
        reasons = failed_checks(db, int(pid), selection)
        assert (pid in kept) == (not reasons), (pid, reasons)
