"""RFT: correct, distinct student traces (up to R per problem) exported for TRL's SFTTrainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from pipeline.datasets.exports import ExportTarget, export_rft
from pipeline.datasets.rft import normalised_trace, select_rft
from pipeline.errors import InputError
from storage.traces import TraceRow
from tests.unit.planted_pits import PlantedBackend, build_experiment
from tests.unit.trl_checks import check_sft_file


def row(item: str, index: int, text: str, label: int | None, finish: str = "stop") -> TraceRow:
    return TraceRow(
        index, 1, None, item, None, index, None, text, finish, None, None, None,
        None, label, None, None, None, None, None, None,
    )  # fmt: skip


def test_keeps_correct_distinct_traces_up_to_r_per_problem() -> None:
    traces = [
        row("a", 0, "x = 1 + 2 = 3", 1),
        row("a", 1, "x = 1 + 2 = 3", 1),  # exact duplicate
        row("a", 2, "X  =  1 + 2 = 3 ", 1),  # normalised duplicate (case, spaces)
        row("a", 3, "x = 1 * 2 = 3", 1),  # another operator: a different solution
        row("a", 4, "x = 4", 0),
        row("a", 5, "x = 3 but cut", 1, finish="length"),
        row("a", 6, "x = 2 + 1 = 3", 1),  # over the limit of 2
        row("b", 0, "no answer", None),
    ]
    chosen = select_rft(traces, 2)
    assert [(t.item, t.sample_index) for t in chosen.kept] == [("a", 0), ("a", 3)]
    assert chosen.skipped == {
        "incorrect": 1,
        "unverifiable": 1,
        "truncated": 1,
        "exact_duplicate": 1,
        "normalised_duplicate": 1,
        "over_limit": 1,
    }
    assert chosen.problems == 1


def test_normalisation_keeps_operators_and_drops_latex_spacing() -> None:
    assert normalised_trace("A\\,=\\;B\n\nC") == normalised_trace("a = b c")
    assert normalised_trace("3+4") != normalised_trace("3*4")


def test_export_rft_writes_sft_records_and_a_card(db: Database, tmp_path: Path) -> None:
    build_experiment(db, tmp_path)
    out = tmp_path / "rft.jsonl"
    backend = PlantedBackend(mixed=True)
    result = export_rft(db, "negatives", backend, ExportTarget(out, command="flames export rft"))
    assert result.failed == 0 and result.file is not None
    assert result.sampling.requested == 3 * 8 and len(backend.sent) == 3 * 8
    # 4 correct samples per problem, two of them case-only duplicates: 2 kept per problem
    assert result.examples == 6
    assert result.skipped == {"incorrect": 12, "normalised_duplicate": 6}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["messages"][1]["content"].endswith("\\boxed{42}.") for r in lines)
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["kind"] == "rft" and card["extra"]["rft_start"] == "base"
    assert card["extra"]["sampled_from"] == "student" and card["total_written"] == 6
    assert {s["strategy"]: s["written"] for s in card["strategies"]} == {"iqc": 2, "paraphrase": 4}
    assert card["files"]["rft.jsonl"] == result.file.sha256
    check_sft_file(out, tmp_path)

    again = PlantedBackend(mixed=True)  # resumable: everything comes from the cache
    export_rft(db, "negatives", again, ExportTarget(out, overwrite=True))
    assert again.sent == []
    with pytest.raises(InputError, match="already exists"):
        export_rft(db, "negatives", again, ExportTarget(out))


def test_prompt_completion_records_pass_the_sft_checks(db: Database, tmp_path: Path) -> None:
    build_experiment(db, tmp_path)
    out = tmp_path / "rft.jsonl"
    target = ExportTarget(out, record_format="prompt-completion")
    export_rft(db, "negatives", PlantedBackend(mixed=True), target)
    first: dict[str, Any] = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"prompt", "completion"}
    check_sft_file(out, tmp_path)


def test_an_arm_samples_only_the_problems_its_run_selected(db: Database, tmp_path: Path) -> None:
    from storage.flow import set_arm_problems

    ids = build_experiment(db, tmp_path)
    set_arm_problems(db, 1, "default", ids[:1])  # `flames run` records an arm's problems
    out = tmp_path / "arm.jsonl"
    backend = PlantedBackend(mixed=True)
    result = export_rft(db, "negatives", backend, ExportTarget(out), arm="default")
    assert result.examples == 2 and len(backend.sent) == 8
    assert "selected for arm default" in result.problems_source
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["arm"] == "default"
