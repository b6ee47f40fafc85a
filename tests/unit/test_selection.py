"""Selection policies as queries over stored scores; `flames filter` reports and deletes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.errors import ConfigError, FlamesError
from pipeline.selection.counts import LiveCounts, kept_dropped, make_selection, resolve_policy
from storage.database import open_db
from workbench.cli.main import main

# (strategy, n_solutions, all_agree, majority_share, first_answer, first_is_majority,
#  reference_agrees, judge_score, nn_sim, decontam_overlap)
ROWS = [
    ("iqc", 3, 1, 1.0, "5", 1, 1, 0.9, 0.1, 0.0),
    ("iqc", 3, 0, 2 / 3, "5", 1, 0, 0.6, 0.95, 0.0),
    ("iqc", 3, 0, 2 / 3, "4", 0, None, 0.2, 0.2, 0.99),
    ("iqc", 3, 0, 1 / 3, "1", 0, None, None, None, None),
    ("paraphrase", 3, 1, 1.0, "7", 1, 1, 0.8, 0.3, 0.1),
    ("paraphrase", 3, 0, 1 / 3, None, 0, 0, 0.7, 0.1, 0.1),
]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "w.db")
    exp = database["experiments"].insert({"name": "exp", "config_toml": "", "config_json": "{}"})
    for row in ROWS:
        pid = (
            database["problems"]
            .insert({"experiment_id": exp.last_pk, "strategy": row[0], "text": "p"})
            .last_pk
        )
        database["scores"].insert(
            dict(
                zip(
                    (
                        "problem_id",
                        "n_solutions",
                        "all_agree",
                        "majority_share",
                        "first_answer",
                        "first_is_majority",
                        "reference_agrees",
                        "judge_score",
                        "nn_sim",
                        "decontam_overlap",
                    ),
                    (pid, *row[1:]),
                    strict=True,
                )
            )
        )
    database["problems"].insert(
        {"experiment_id": exp.last_pk, "strategy": "paraphrase", "text": "", "status": "rejected"}
    )
    database["problems"].insert(
        {"experiment_id": exp.last_pk, "strategy": "iqc", "text": "never solved"}
    )
    # Here every neighbour outranks the problem, so the near-dup signal equals nn_sim.
    database.execute("UPDATE scores SET dup_of_sim = nn_sim")
    return database


def counts(db: Database, policy: str, **kwargs: float | None) -> dict[str, tuple[int, int]]:
    rows = kept_dropped(db, "exp", make_selection(policy, **kwargs))
    return {r.strategy: (r.kept, r.dropped) for r in rows}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("strict", {"iqc": (1, 4), "paraphrase": (1, 2)}),
        ("majority", {"iqc": (3, 2), "paraphrase": (1, 2)}),
        ("first", {"iqc": (4, 1), "paraphrase": (1, 2)}),
        ("majority_first", {"iqc": (2, 3), "paraphrase": (1, 2)}),
        ("majority+first", {"iqc": (2, 3), "paraphrase": (1, 2)}),
        ("reference_verified", {"iqc": (1, 4), "paraphrase": (1, 2)}),
        ("none", {"iqc": (5, 0), "paraphrase": (2, 1)}),
    ],
)
def test_policies(db: Database, policy: str, expected: dict[str, tuple[int, int]]) -> None:
    assert counts(db, policy) == expected


def test_thresholds_combine(db: Database) -> None:
    assert counts(db, "majority", judge_min=0.5) == {"iqc": (2, 3), "paraphrase": (1, 2)}
    assert counts(db, "majority", max_nn_sim=0.9) == {"iqc": (2, 3), "paraphrase": (1, 2)}
    assert counts(db, "majority", max_decontam=0.95) == {"iqc": (2, 3), "paraphrase": (1, 2)}
    assert counts(db, "majority", judge_min=0.5, max_nn_sim=0.9) == {
        "iqc": (1, 4),
        "paraphrase": (1, 2),
    }
    # A missing near-dup or decontam score never drops a problem; a missing judge score does.
    assert counts(db, "none", max_nn_sim=0.5, max_decontam=0.5) == {
        "iqc": (3, 2),
        "paraphrase": (2, 1),
    }
    assert counts(db, "none", judge_min=0.0) == {"iqc": (3, 2), "paraphrase": (2, 1)}


def test_policy_names_and_bad_values() -> None:
    assert resolve_policy("Majority First") == "majority+first"
    assert resolve_policy("reference-verified") == "reference-verified"
    with pytest.raises(ConfigError, match="selection policy 'best' is unknown"):
        resolve_policy("best")
    with pytest.raises(ConfigError, match="judge_min = 7"):
        make_selection("first", judge_min=7)


def test_unknown_experiment(db: Database) -> None:
    with pytest.raises(FlamesError, match="no experiment called 'nope' .experiments: exp"):
        kept_dropped(db, "nope", make_selection("first"))


def test_cli_filter_reports_and_deletes_nothing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = db["problems"].count, db["scores"].count
    main(
        [
            "filter",
            "exp",
            "--policy",
            "majority",
            "--judge-min",
            "0.5",
            "--db",
            str(tmp_path / "w.db"),
        ]
    )
    out = capsys.readouterr().out
    assert "iqc" in out and "paraphrase" in out and "kept" in out
    iqc_line = next(line for line in out.splitlines() if "iqc" in line)
    assert re.findall(r"\d+", iqc_line)[:3] == ["2", "3", "5"]
    assert (db["problems"].count, db["scores"].count) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["filter", "nope", "--policy", "first"], "no experiment called 'nope'"),
        (["filter", "exp", "--policy", "best"], "selection policy 'best' is unknown"),
    ],
)
def test_cli_filter_errors_are_one_line(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--db", str(tmp_path / "w.db")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_live_counts_match_full_queries_as_thresholds_slide(db: Database) -> None:
    db["marks"].insert({"problem_id": 3, "mark": "keep"})
    live = LiveCounts(db, "exp")
    steps = [
        dict(max_nn_sim=0.9),
        dict(max_nn_sim=0.96),
        dict(max_nn_sim=0.15),
        dict(max_nn_sim=0.15, judge_min=0.5),
        dict(max_nn_sim=0.15, judge_min=0.1),
        dict(max_nn_sim=0.15, judge_min=0.95),
        dict(max_decontam=0.5, judge_min=0.95),
        dict(max_decontam=0.995, judge_min=0.95),
        dict(max_decontam=0.0, judge_min=0.95),
    ]
    for policy in ("majority", "none"):
        for step in steps:
            selection = make_selection(policy, **step)
            assert live.counts(selection) == kept_dropped(db, "exp", selection), (policy, step)
    assert live.band_queries >= 8
    live.refresh()
    live.counts(make_selection("first"))
    assert live.full_queries >= 4


def test_near_duplicate_threshold_keeps_one_problem_per_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.database import open_db

    db = open_db(tmp_path / "family.db")
    db.execute("INSERT INTO experiments (name, config_toml, config_json) VALUES ('fam', '', '{}')")
    for text in ("A train leaves at noon.", "A train leaves at noon!", "A bus leaves at one."):
        db.execute(
            "INSERT INTO problems (experiment_id, strategy, text) VALUES (1, 'qft', ?)", [text]
        )
    # 1 and 2 are near-duplicates of each other; 2 is outranked by the earlier 1.
    db.execute(
        "INSERT INTO scores (problem_id, first_answer, nn_id, nn_sim, dup_of_id, dup_of_sim)"
        " VALUES (1, 'x', 2, 0.97, NULL, NULL), (2, 'x', 1, 0.97, 1, 0.97),"
        " (3, 'x', 1, 0.40, 1, 0.40)"
    )
    kept = kept_dropped(db, "fam", make_selection("first", max_nn_sim=0.9))
    assert [(c.kept, c.dropped) for c in kept] == [(2, 1)]
