"""Plain DPO: pairing rules (seeded, deterministic) and the export TRL's DPOTrainer accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.datasets.dpo import Candidate, pair_problem
from pipeline.datasets.exports import ExportTarget, export_dpo
from pipeline.errors import ConfigError
from tests.unit.planted_pits import PlantedBackend, build_experiment
from tests.unit.trl_checks import check_preference_file

CORRECT = [
    Candidate("Add 2 and 3 to get 5. Answer 5.", "student", 0),
    Candidate("Five: because two plus three is five, so the result is 5", "student", 1),
    Candidate("2+3=5", "student", 2),
]
WRONG = [Candidate("Add 2 and 3 to get 6. Answer 6.", "student", 3)]


def test_most_similar_and_most_different_pick_by_text_similarity() -> None:
    similar = pair_problem("p", "Q", CORRECT, WRONG, pairing="most_similar")
    different = pair_problem("p", "Q", CORRECT, WRONG, pairing="most_different")
    assert similar[0].chosen.index == 0
    assert different[0].chosen.index != 0
    assert similar[0].similarity > different[0].similarity


def test_random_pairing_is_seeded_and_deterministic() -> None:
    many_wrong = [Candidate(f"wrong {i}", "student", 10 + i) for i in range(6)]
    first = pair_problem("p7", "Q", CORRECT, many_wrong, pairs_per_problem=6, seed=1)
    again = pair_problem("p7", "Q", CORRECT, many_wrong, pairs_per_problem=6, seed=1)
    other = pair_problem("p7", "Q", CORRECT, many_wrong, pairs_per_problem=6, seed=2)
    picks = [p.chosen.index for p in first]
    assert picks == [p.chosen.index for p in again]
    assert picks != [p.chosen.index for p in other]
    assert len(set(picks)) > 1
    assert [p.rejected.index for p in first] == list(range(10, 16))


def test_pairs_need_both_sides_and_respect_the_limit() -> None:
    assert pair_problem("p", "Q", [], WRONG) == []
    assert pair_problem("p", "Q", CORRECT, []) == []
    many_wrong = WRONG * 5
    assert len(pair_problem("p", "Q", CORRECT, many_wrong, pairs_per_problem=2)) == 2
    with pytest.raises(ConfigError, match="most_similar"):
        pair_problem("p", "Q", CORRECT, WRONG, pairing="nearest")


@pytest.mark.parametrize("fmt", ["messages", "prompt-completion"])
def test_export_dpo_pairs_correct_against_incorrect(db: Database, tmp_path: Path, fmt: str) -> None:
    build_experiment(db, tmp_path)
    out = tmp_path / f"dpo-{fmt}.jsonl"
    result = export_dpo(db, "negatives", PlantedBackend(mixed=True), ExportTarget(out, fmt))
    assert result.failed == 0 and result.examples == 3 * 2  # dpo_pairs = 2 per problem
    for line in out.read_text().splitlines():
        record = json.loads(line)
        chosen, rejected = record["chosen"], record["rejected"]
        if fmt == "messages":
            assert record["prompt"][0]["role"] == "user"
            chosen, rejected = chosen[0]["content"], rejected[0]["content"]
        assert chosen.endswith("\\boxed{42}.") and rejected.endswith("\\boxed{43}.")
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["kind"] == "dpo" and card["extra"]["reference_model"] == "student"
    assert card["extra"]["pairing"] == "random" and card["extra"]["chosen_from"] == {"student": 6}
    check_preference_file(out, tmp_path)


def test_teacher_solutions_stand_in_when_the_student_is_never_right(
    db: Database, tmp_path: Path
) -> None:
    build_experiment(db, tmp_path)

    class WrongStudent(PlantedBackend):
        def generate(self, requests):  # type: ignore[no-untyped-def]
            for index, completion in super().generate(requests):
                completion.text = "Step 1: guess.\nStep 2: \\boxed{7}."  # type: ignore[union-attr]
                yield index, completion

    out = tmp_path / "dpo.jsonl"
    result = export_dpo(db, "negatives", WrongStudent(mixed=True), ExportTarget(out))
    assert result.examples == 6
    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["extra"]["chosen_from"] == {"teacher": 6}
    first = json.loads(out.read_text().splitlines()[0])
    assert first["chosen"][0]["content"] == "Teacher: \\boxed{42}"
