"""Selection policies and thresholds as queries over stored signals; one spelling everywhere."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.config import FilterConfig, Policy, parse_config, preset_names, preset_text
from pipeline.errors import ConfigError, FlamesError
from pipeline.selection import (
    FIELDS,
    RULES,
    Selection,
    experiment_selection,
    kept_dropped,
    kept_ids,
    training_solution_sql,
    truncated_counts,
)
from storage.database import open_db
from workbench.cli.main import main

# One problem per row: (strategy, scores, solutions). Scores: all_agree, majority_share,
# majority_answer, first_is_majority, reference_agrees, judge_score, dup_of_sim,
# decontam_overlap. Solutions: (extracted answer, verdict, finish_reason, reward).
PROBLEMS = [
    # 1: unanimous, verified, judged solvable
    ("iqc", (1, 1.0, "5", 1, 1, 0.9, 0.1, 0.0), [("5", "correct", "stop", 0.2)] * 3),
    # 2: 2 of 3 agree with the first; near-duplicate of an earlier problem
    (
        "iqc",
        (0, 2 / 3, "5", 1, 0, 0.6, 0.95, 0.0),
        [
            ("5", "incorrect", "stop", 0.9),
            ("5", "incorrect", "stop", 0.1),
            ("4", None, "stop", 0.5),
        ],
    ),
    # 3: majority exists but the first solution disagrees; contaminated; judged unsolvable
    (
        "iqc",
        (0, 2 / 3, "4", 0, None, 0.2, 0.2, 0.99),
        [("1", None, "stop", None), ("4", None, "stop", None), ("4", None, "length", None)],
    ),
    # 4: no answer could be extracted from the first solution; no judge score
    ("iqc", (0, 1 / 3, "1", 0, None, None, None, None), [(None, None, "stop", None)]),
    # 5: unanimous but every solution was cut at the token limit
    ("paraphrase", (1, 1.0, "7", 1, 1, 0.8, 0.3, 0.1), [("7", "correct", "length", 0.3)] * 2),
    # 6: no majority
    (
        "paraphrase",
        (0, 1 / 3, "2", 0, 0, 0.7, 0.1, 0.1),
        [(None, None, "stop", 0.4), ("2", None, "stop", 0.8), ("3", None, "stop", None)],
    ),
]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "w.db")
    database.execute(
        "INSERT INTO experiments (id, name, config_toml, config_json) VALUES (1, 'exp', '', '{}')"
    )
    for pid, (strategy, scores, solutions) in enumerate(PROBLEMS, start=1):
        database.execute(
            "INSERT INTO problems (id, experiment_id, strategy, text) VALUES (?, 1, ?, ?)",
            [pid, strategy, f"problem {pid}"],
        )
        database.execute(
            "INSERT INTO scores (problem_id, n_solutions, all_agree, majority_share, "
            "majority_answer, first_is_majority, reference_agrees, judge_score, dup_of_sim, "
            "decontam_overlap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [pid, len(solutions), *scores],
        )
        for k, (answer, verdict, finish, reward) in enumerate(solutions):
            database.execute(
                "INSERT INTO solutions (problem_id, model, sample_index, text, extracted_answer, "
                "verdict, finish_reason, reward) VALUES (?, 'teacher', ?, ?, ?, ?, ?, ?)",
                [pid, k, f"solution {pid}.{k}", answer, verdict, finish, reward],
            )
    database.execute(
        "INSERT INTO problems (experiment_id, strategy, text, status) "
        "VALUES (1, 'paraphrase', '', 'rejected')"
    )
    database.execute("INSERT INTO problems (experiment_id, strategy, text) VALUES (1, 'iqc', 'x')")
    return database


def ids(db: Database, **fields: object) -> list[int]:
    return kept_ids(db, 1, Selection(**{"decontam_max": None, **fields}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (Policy.FIRST, [1, 2, 3, 4, 6]),  # every solved problem, an answer or not
        (Policy.STRICT, [1]),  # 5 agrees too, but every solution of it was cut
        (Policy.MAJORITY, [1, 2, 3]),
        (Policy.MAJORITY_FIRST, [1, 2]),
        (Policy.MAJORITY_OR_FIRST, [1, 2, 3, 4, 6]),
        (Policy.REFERENCE_VERIFIED, [1]),
        (Policy.JUDGE, [1, 2, 6]),
        (Policy.JUDGE_REWARD, [1, 2, 6]),
    ],
)
def test_policies(db: Database, policy: Policy, expected: list[int]) -> None:
    assert ids(db, policy=policy) == expected


def test_truncated_solutions_never_train_unless_allowed(db: Database) -> None:
    assert 5 not in ids(db, policy="strict")
    assert ids(db, policy="strict", allow_truncated=True) == [1, 5]
    assert truncated_counts(db, 1, Selection(policy="strict", decontam_max=None)) == {
        "paraphrase": 1
    }
    assert truncated_counts(db, 1, Selection(policy="strict", allow_truncated=True)) == {}


def training_solution(db: Database, problem: int, selection: Selection) -> str:
    sql = training_solution_sql(selection.policy, allow_truncated=selection.allow_truncated)
    row = db.execute(
        f"SELECT {sql} FROM problems p LEFT JOIN scores s ON s.problem_id = p.id WHERE p.id = ?",
        [problem],
    ).fetchone()
    return str(db.execute("SELECT text FROM solutions WHERE id = ?", [row[0]]).fetchone()[0])


def test_each_policy_picks_its_training_solution(db: Database) -> None:
    # majority: a member of the majority group; problem 3's first is not one, its third is cut
    assert training_solution(db, 3, Selection(policy="majority")) == "solution 3.1"
    assert training_solution(db, 3, Selection(policy="first")) == "solution 3.0"
    # majority_or_first: the majority where one exists, else the first
    assert training_solution(db, 3, Selection(policy="majority_or_first")) == "solution 3.1"
    assert training_solution(db, 6, Selection(policy="majority_or_first")) == "solution 6.0"
    # judge_reward: the highest reward of the k solutions
    assert training_solution(db, 2, Selection(policy="judge_reward")) == "solution 2.0"
    assert training_solution(db, 6, Selection(policy="judge_reward")) == "solution 6.1"
    # reference_verified: a correct one
    assert training_solution(db, 1, Selection(policy="reference_verified")) == "solution 1.0"


def test_thresholds_and_switches(db: Database) -> None:
    assert ids(db, judge_min=0.65) == [1, 6]  # a missing judge score fails a floor
    assert ids(db, near_dup_max=0.9) == [1, 3, 4, 6]  # a missing near-dup score passes
    assert ids(db, decontam_max=0.95) == [1, 2, 4, 6]  # so does a missing decontam score
    db.execute("UPDATE scores SET is_exact_dup = 1 WHERE problem_id = 6")
    assert ids(db) == [1, 2, 3, 4]
    assert ids(db, drop_exact_dups=False) == [1, 2, 3, 4, 6]


def test_marks_override_rules_but_a_kept_problem_still_needs_a_training_solution(
    db: Database,
) -> None:
    db.execute("INSERT INTO marks (problem_id, mark) VALUES (1, 'drop'), (6, 'keep'), (5, 'keep')")
    assert ids(db, policy="strict") == [6]  # 5 is marked keep but every solution was cut
    assert ids(db, policy="strict", honour_marks=False) == [1]
    assert ids(db, policy="strict", allow_truncated=True) == [5, 6]


def test_defaults_come_from_the_config_and_match_it() -> None:
    assert Selection() == Selection.from_config(FilterConfig())
    assert set(FIELDS) <= {f.name for f in dataclasses.fields(FilterConfig)}
    assert set(RULES) == set(Policy)
    for name in preset_names():
        config = parse_config(preset_text(name), source=name)
        selection = Selection.from_config(config.filter)
        assert selection.drop_exact_dups  # exact-match dedup always, as in FLAMES
    paper = parse_config(preset_text("flames-paper"), source="paper").filter
    assert Selection.from_config(paper).near_dup_max is None  # the paper used exact match only


def test_experiment_and_arm_defaults(db: Database) -> None:
    config = parse_config(
        '[filter]\npolicy = "majority"\njudge_min = 0.5\n'
        '[[arms]]\nname = "strict"\noverrides = { "filter.policy" = "strict" }\n',
        source="t",
    )
    from pipeline.config import config_to_data

    db.execute("UPDATE experiments SET config_json = ?", [json.dumps(config_to_data(config))])
    assert experiment_selection(db, "exp") == Selection(policy="majority", judge_min=0.5)
    assert experiment_selection(db, 1, "strict").policy is Policy.STRICT
    with pytest.raises(ConfigError, match="no arm 'nope' .arms: strict"):
        experiment_selection(db, "exp", "nope")


def test_round_trips_and_one_line_errors() -> None:
    selection = Selection(policy="judge_reward", judge_min=0.3, near_dup_max=None)
    assert Selection.from_dict(json.loads(json.dumps(selection.to_dict()))) == selection
    assert selection.to_dict()["policy"] == "judge_reward"
    with pytest.raises(ConfigError, match="selection policy 'best' is unknown"):
        Selection(policy="best")
    with pytest.raises(ConfigError, match="judge_min = 7: give a number between 0 and 1, or off"):
        Selection(judge_min=7)
    with pytest.raises(ConfigError, match="selection key 'max_nn_sim' is unknown"):
        Selection.from_dict({"max_nn_sim": 0.9})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[filter]\nmax_nn_sim = 0.9\n", "key 'filter.max_nn_sim' is now 'filter.near_dup_max'"),
        ("[filter]\nmin_judge = 0.5\n", "key 'filter.min_judge' is now 'filter.judge_min'"),
        (
            '[[arms]]\nname = "a"\noverrides = { "filter.max_decontam" = 0.5 }\n',
            "key 'filter.max_decontam' is now 'filter.decontam_max'",
        ),
        ('[filter]\npolicy = "majority+first"\n', "unknown policy 'majority+first'"),
        ("[filter]\njudge_min = 1.5\n", "filter.judge_min': must be between 0 and 1"),
        ('[filter]\npolicy = "judge_reward"\n', "judge_reward needs a reward model"),
    ],
)
def test_config_errors_name_the_new_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse_config(toml, source="x.toml")
    assert "\n" not in str(info.value)


def test_unknown_experiment(db: Database) -> None:
    with pytest.raises(FlamesError, match="no experiment called 'nope' .experiments: exp"):
        kept_dropped(db, "nope", Selection())


def test_cli_filter_reports_lists_ids_and_deletes_nothing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = db["problems"].count, db["scores"].count, db["solutions"].count
    listing = tmp_path / "kept.txt"
    main(["filter", "exp", "--policy", "majority", "--judge-min", "0.5", "--db",
          str(tmp_path / "w.db"), "--ids", str(listing), "--decontam-max", "off"])  # fmt: skip
    out = capsys.readouterr().out
    iqc_line = next(line for line in out.splitlines() if "iqc" in line)
    assert re.findall(r"\d+", iqc_line)[:3] == ["2", "3", "5"]
    assert listing.read_text().split() == ["1", "2"]
    assert (db["problems"].count, db["scores"].count, db["solutions"].count) == before
    main(["filter", "exp", "--policy", "strict", "--db", str(tmp_path / "w.db")])
    assert "1 more would be kept with --allow-truncated" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["filter", "nope"], "no experiment called 'nope'"),
        (["filter", "exp", "--policy", "best"], "'best' is not one of"),
        (["filter", "exp", "--judge-min", "2"], "2 is not between 0 and 1"),
        (["filter", "exp", "--max-nn-sim", "0.9"], "--max-nn-sim is now --near-dup-max"),
    ],
)
def test_cli_filter_errors_are_one_line(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--db", str(tmp_path / "w.db")])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert message in err


def test_near_duplicate_threshold_keeps_one_problem_per_family(tmp_path: Path) -> None:
    db = open_db(tmp_path / "family.db")
    db.execute("INSERT INTO experiments (name, config_toml, config_json) VALUES ('fam', '', '{}')")
    for text in ("A train leaves at noon.", "A train leaves at noon!", "A bus leaves at one."):
        db.execute(
            "INSERT INTO problems (experiment_id, strategy, text) VALUES (1, 'qft', ?)", [text]
        )
        db.execute(
            "INSERT INTO solutions (problem_id, model, sample_index, text) "
            "VALUES (last_insert_rowid(), 't', 0, 's')"
        )
    # 1 and 2 are near-duplicates of each other; 2 is outranked by the earlier 1.
    db.execute(
        "INSERT INTO scores (problem_id, first_answer, nn_id, nn_sim, dup_of_id, dup_of_sim)"
        " VALUES (1, 'x', 2, 0.97, NULL, NULL), (2, 'x', 1, 0.97, 1, 0.97),"
        " (3, 'x', 1, 0.40, 1, 0.40)"
    )
    kept = kept_dropped(db, "fam", Selection(near_dup_max=0.9))
    assert [(c.kept, c.dropped) for c in kept] == [(2, 1)]


def test_flames_run_judges_and_rewards_when_a_policy_reads_those_scores() -> None:
    from pipeline.flow.graph import solve_inputs

    def inputs(toml: str) -> dict[str, object]:
        config = parse_config(toml, source="t")
        return solve_inputs(config, {"base": config})

    assert inputs('[filter]\npolicy = "first"\n')["judge"] is None
    assert "reward" not in inputs('[filter]\npolicy = "judge"\n')
    assert inputs('[filter]\npolicy = "judge"\n')["judge"] is not None
    assert inputs("[filter]\njudge_min = 0.5\n")["judge"] is not None
    rewarded = inputs(
        '[filter]\npolicy = "judge_reward"\n[models.reward]\nbackend = "openai"\n'
        'model = "rm"\nbase_urls = ["http://127.0.0.1:1/v1"]\n'
    )
    assert rewarded["judge"] is not None and rewarded["reward"] is not None
