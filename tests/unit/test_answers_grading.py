"""`flames grade`: file in, file out, the verdict fields, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.answers.grading import grade_file
from pipeline.errors import InputError
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


def test_bad_lines_name_file_line_and_field(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"gold": "1", "pred": "1"}\n{"gold": "1"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2: field 'pred'"):
        grade_file(src, tmp_path / "out.jsonl", workers=1)
    assert not (tmp_path / "out.jsonl").exists()
    assert not (tmp_path / "out.jsonl.part").exists()
    src.write_text('{"gold": "1", "pred": "1"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        grade_file(src, tmp_path / "out.jsonl", workers=1)
    src.write_text('{"gold": {"a": "1"}, "pred": "1"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'gold': must be a string, a number or a list"):
        grade_file(src, tmp_path / "out.jsonl", workers=1)


@pytest.mark.timeout(120)
def test_cli_grade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "in.jsonl", ROWS[:3])
    out = tmp_path / "graded.jsonl"
    main(["grade", str(src), "--out", str(out), "--workers", "1"])
    assert "3 equivalent" in capsys.readouterr().out
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
