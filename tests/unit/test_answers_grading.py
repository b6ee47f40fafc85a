"""`flames grade`: file in, file out, the verdict fields, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.answers.grading import grade_file
from pipeline.answers.verification import Verifier
from workbench.cli.main import main

ROWS = [
    {"id": 1, "gold": "Janet sells 9 eggs.\n#### 18", "pred": "She makes $18. The answer is 18."},
    {"id": 2, "gold": "\\frac{1}{2}", "pred": "so the result is \\boxed{0.5}"},
    {"id": 3, "gold": "x^2+1", "pred": "\\boxed{1+x^2}"},
    {"id": 4, "gold": 3, "pred": "I think 4"},
    {"id": 5, "gold": "5", "pred": "I have no idea whatsoever about this one"},
    {"id": 6, "gold": None, "pred": "7"},
    {"id": 7, "gold": "(1, 2]", "pred": "The answer is $[1, 2)$."},
    {"id": 8, "gold": ["$\\frac{1}{2 n+2}$"], "pred": "so $\\boxed{\\frac{1}{2(n+1)}}$"},
]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.timeout(120)
def test_grade_file_adds_verdict_fields(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    summary = grade_file(_write(tmp_path / "in.jsonl", ROWS), out, workers=2, timeout_s=10)
    rows = _read(out)
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r["equivalent"] for r in rows] == [True, True, True, False, False, None, False, True]
    assert rows[0]["gold_extracted"] == "18" and rows[0]["pred_extracted"] == "18"
    assert rows[0]["gold_rule"] == "hash" and rows[0]["pred_rule"] == "the_answer_is"
    assert rows[3]["pred_extracted"] == "4" and rows[3]["pred_rule"] == "last_number"
    assert rows[4]["reason"] == "no_answer"
    assert rows[5]["reason"] == "no_gold"
    assert all(isinstance(r["reason"], str) for r in rows)
    assert (summary.total, summary.equivalent, summary.not_equivalent, summary.unverifiable) == (
        8,
        4,
        3,
        1,
    )
    assert not (tmp_path / "out.jsonl.part").exists()


def test_a_bad_line_gets_a_null_verdict_and_the_rest_is_graded(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(
        '{"gold": "1", "pred": "1"}\n'
        '{"gold": "1"}\n'
        "not json\n"
        "true\n"
        "[1, 2]\n"
        '{"gold": {"a": "1"}, "pred": "1"}\n'
        '{"gold": true, "pred": "1"}\n'
        '{"gold": NaN, "pred": "1"}\n'
        '{"gold": 1e400, "pred": "1e400"}\n'
        '{"gold": "2", "pred": "\\\\boxed{2}"}\n',
        encoding="utf-8",
    )
    summary = grade_file(src, tmp_path / "out.jsonl", workers=1)
    rows = _read(tmp_path / "out.jsonl")
    assert len(rows) == 10 and summary.total == 10
    assert [r["equivalent"] for r in rows] == [
        True,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        True,
        True,
    ]
    assert rows[1]["reason"].startswith("bad_field: 'pred' is missing")
    assert rows[2] == {
        "line": 3,
        "input": "not json",
        "equivalent": None,
        "reason": rows[2]["reason"],
    }
    assert rows[2]["reason"].startswith("bad_line: not valid JSON")
    assert (
        rows[3]["reason"] == "bad_line: expected a JSON object with 'gold' and 'pred', not boolean"
    )
    assert rows[4]["input"] == [1, 2]
    assert "not dict" in rows[5]["reason"] and "not boolean" in rows[6]["reason"]
    assert "NaN is not JSON" in rows[7]["reason"]
    assert rows[8]["gold"] == "1e400"  # past float range: kept as written, never Infinity
    strict = json.JSONDecoder(parse_constant=lambda name: pytest.fail(f"{name} written"))
    for line in (tmp_path / "out.jsonl").read_text().splitlines():
        strict.decode(line)  # no NaN or Infinity anywhere in the output
    assert summary.reasons["bad_line"] == 4 and summary.reasons["bad_field"] == 3


def test_an_unexpected_error_keeps_the_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write(tmp_path / "in.jsonl", [{"gold": str(i), "pred": str(i)} for i in range(5)])
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr("pipeline.answers.grading.CHUNK_LINES", 2)
    calls = {"n": 0}
    real = Verifier.grade

    def failing(self: Verifier, pairs: Any, progress: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(self, pairs, progress)

    monkeypatch.setattr(Verifier, "grade", failing)
    with pytest.raises(RuntimeError):
        grade_file(src, out, workers=1)
    assert not out.exists() and len(_read(tmp_path / "out.jsonl.part")) == 2
    monkeypatch.setattr(Verifier, "grade", real)
    summary = grade_file(src, out, workers=1)
    assert summary.total == 5 and [r["gold"] for r in _read(out)] == [str(i) for i in range(5)]


@pytest.mark.timeout(120)
def test_cli_grade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "graded.jsonl"
    db = tmp_path / "flames.db"
    main(["grade", str(src), "--out", str(out), "--workers", "1", "--db", str(db)])
    assert "3 equivalent" in capsys.readouterr().out
    assert not db.exists()  # --db is accepted like everywhere; grading touches no workspace
    assert [r["equivalent"] for r in _read(out)] == [True, True, True]


def test_cli_grade_missing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nope.jsonl" in err and "\n" not in err


def test_interrupted_run_resumes_after_graded_lines(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"gold": str(i), "pred": str(i)} for i in range(6)])
    out = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    # What an interrupted run leaves: three graded lines and half of a fourth.
    done = [
        {"gold": str(i), "pred": str(i), "equivalent": True, "reason": "identical"}
        for i in range(3)
    ]
    part.write_text(
        "".join(json.dumps(r) + "\n" for r in done) + '{"gold": "3", "pr', encoding="utf-8"
    )
    summary = grade_file(src, out, workers=1)
    rows = _read(out)
    assert [r["gold"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert summary.total == 6 and summary.equivalent == 6
    assert not part.exists()
    # A leftover from a different input is ignored, not appended to.
    part.write_text(
        json.dumps({"gold": "x", "pred": "y", "equivalent": False}) + "\n", encoding="utf-8"
    )
    grade_file(src, out, workers=1)
    assert [r["gold"] for r in _read(out)] == ["0", "1", "2", "3", "4", "5"]
