"""Seed import: every shared file without options, every format, every bad input refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.seeds import import_seeds
from storage.seeds import list_seed_sets, seed_set_id

SHARED_FILES = [
    "aime24/test.jsonl",
    "amc23/test.jsonl",
    "asdiv/test.jsonl",
    "college_math/test.jsonl",
    "gsm8k/test.jsonl",
    "gsm8k/train.jsonl",
    "math500/test.jsonl",
    "mawps/test.jsonl",
    "minerva_math/test.jsonl",
    "olympiadbench/test.jsonl",
    "svamp/test.jsonl",
]


def _count(db: Database, name: str) -> int:
    return int(
        db.execute(
            "SELECT COUNT(*) FROM seeds JOIN seed_sets s ON s.id = seed_set_id WHERE s.name = ?",
            [name],
        ).fetchone()[0]
    )


def _dump(db: Database) -> list[str]:
    return list(db.conn.iterdump())


@pytest.mark.parametrize("relative", SHARED_FILES)
def test_every_shared_file_imports_without_options(
    db: Database, shared_data: Path, relative: str
) -> None:
    path = shared_data / relative
    lines = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    report = import_seeds(db, str(path), "set")
    assert report.rows == lines
    assert _count(db, "set") == report.added
    # Every shared set carries a final answer on each line (boxed, #### N, lists, floats).
    assert report.with_answer == lines
    again = import_seeds(db, str(path), "set", append=True)
    assert again.added == 0 and again.skipped == lines
    assert _count(db, "set") == report.added


def test_answer_layouts_are_mapped(db: Database, shared_data: Path) -> None:
    def first(relative: str) -> tuple[str, str | None, str | None]:
        name = relative.split("/")[0]
        import_seeds(db, str(shared_data / relative), name)
        row = db.execute(
            "SELECT question, answer, solution FROM seeds JOIN seed_sets s"
            " ON s.id = seed_set_id WHERE s.name = ? ORDER BY source_line LIMIT 1",
            [name],
        ).fetchone()
        return row[0], row[1], row[2]

    question, answer, solution = first("gsm8k/train.jsonl")
    assert answer == "72" and solution is not None and "####" in solution
    assert first("minerva_math/test.jsonl")[1] == "1.6"  # \boxed{} in the solution
    assert first("olympiadbench/test.jsonl")[1] == "2"  # list-valued final_answer
    assert first("amc23/test.jsonl")[1] == "27"  # 27.0 -> 27
    assert first("asdiv/test.jsonl")[1] == "9"  # "9 (apples)" -> 9
    question, answer, _ = first("svamp/test.jsonl")
    assert question.startswith("There are 87 oranges") and question.endswith("bananas?")
    assert answer == "145"


# Public training-set layouts, one record each: (record, question, answer, solution kept).
PUBLIC_LAYOUTS = {
    "metamathqa": (
        {"query": "What is 2+3?", "response": "2+3=5.\nThe answer is: 5", "type": "GSM_SV"},
        "5",
        True,
    ),
    "mathinstruct": (
        {"instruction": "What is 2+3?", "output": "2+3=5. The answer is 5"},
        "5",
        True,
    ),
    "openmathinstruct2": (
        {
            "problem": "What is 2+3?",
            "generated_solution": "Add: $\\boxed{5}$.",
            "expected_answer": "5",
        },
        "5",
        True,
    ),
    "numinamath": (
        {"problem": "What is 2+3?", "solution": "We add to get $\\boxed{5}$.", "messages": []},
        "5",
        True,
    ),
    "openai-messages": (
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is 2+3?"},
                {"role": "assistant", "content": "2+3=5, so \\boxed{5}."},
            ]
        },
        "5",
        True,
    ),
    "sharegpt": (
        {
            "conversations": [
                {"from": "human", "value": "What is 2+3?"},
                {"from": "gpt", "value": "2+3=5. The answer is 5."},
            ]
        },
        "5",
        True,
    ),
    "aime-capitals": ({"ID": "2024-I-1", "Problem": "What is 2+3?", "Answer": 5}, "5", False),
    # A short answer sentence with no statement stays as it is (the grader reads it later).
    "orca-math": ({"question": "What is 2+3?", "answer": "2+3 equals 5."}, "2+3 equals 5.", False),
}


@pytest.mark.parametrize("layout", sorted(PUBLIC_LAYOUTS))
def test_public_training_set_layouts_import_without_options(
    db: Database, tmp_path: Path, layout: str
) -> None:
    record, answer, has_solution = PUBLIC_LAYOUTS[layout]
    path = tmp_path / f"{layout}.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = import_seeds(db, str(path), layout)
    assert (report.added, report.with_answer) == (1, 1)
    row = db.execute("SELECT question, answer, solution FROM seeds").fetchone()
    assert (row[0], row[1], row[2] is not None) == ("What is 2+3?", answer, has_solution)


def test_champ_is_the_embedded_default(db: Database) -> None:
    report = import_seeds(db, "champ", "champ")
    # The seed part only: 50 of the 270 are held out as the `champ_heldout` benchmark.
    assert report.added == 220 and report.with_answer == 220
    meta = json.loads(db.execute("SELECT meta FROM seeds LIMIT 1").fetchone()[0])
    assert meta["category"] and isinstance(meta["concepts"], list)


def test_json_csv_and_parquet(db: Database, tmp_path: Path) -> None:
    records = [{"problem": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(5)]
    (tmp_path / "a.json").write_text(json.dumps({"data": records}), encoding="utf-8")
    with (tmp_path / "a.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["problem", "answer"])
        writer.writeheader()
        writer.writerows(records)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), tmp_path / "a.parquet")
    for suffix in ("json", "csv", "parquet"):
        report = import_seeds(db, str(tmp_path / f"a.{suffix}"), suffix)
        assert (report.rows, report.added, report.with_answer) == (5, 5, 5), suffix
    # The same content appended to the same set adds nothing, whatever the format.
    assert import_seeds(db, str(tmp_path / "a.csv"), "json", append=True).added == 0


def test_explicit_field_names(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "custom.jsonl"
    path.write_text('{"q": "Two plus two?", "a": 4}\n', encoding="utf-8")
    report = import_seeds(db, str(path), "custom", question_field="q", answer_field="a")
    assert report.added == 1
    assert db.execute("SELECT question, answer FROM seeds").fetchone() == ("Two plus two?", "4")
    with pytest.raises(InputError, match="--question-field 'nope'"):
        import_seeds(db, str(path), "custom2", question_field="nope")


def test_hub_source_runs_the_real_datasets_loader(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "local_dataset"
    folder.mkdir()
    (folder / "train.jsonl").write_text(
        "".join(
            json.dumps({"question": f"Q{i}?", "answer": f"{i} #### {i}"}) + "\n" for i in range(3)
        ),
        encoding="utf-8",
    )
    report = import_seeds(db, f"hf:{folder}:train", "hub")
    assert report.added == 3
    with pytest.raises(InputError, match="expected hf:ORG/NAME:SPLIT"):
        import_seeds(db, "hf:only-a-name", "hub2")


BAD_FILES = {
    "truncated.jsonl": (
        b'{"question": "ok?", "answer": "1"}\n{"question": "cut',
        ":2:",
        "truncated",
    ),
    "notjson.jsonl": (b'{"question": "ok?"}\nthis is not json\n', ":2:", "not valid JSON"),
    "noquestion.jsonl": (b'{"question": "ok?"}\n{"question": ""}\n', ":2:", "field 'question'"),
    "empty.jsonl": (b"", "empty.jsonl", "empty"),
    "binary.jsonl": (bytes(range(256)) * 50, ":1:", "not UTF-8"),
    "latin1.jsonl": ('{"question": "caf\u00e9?"}\n'.encode("latin-1"), ":1:", "not UTF-8"),
    "array.jsonl": (b'{"question": "ok?"}\n[1, 2]\n', ":2:", "JSON object"),
    "nofield.jsonl": (b'{"text_body": "x"}\n', "nofield.jsonl", "no question field"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_change_nothing(db: Database, tmp_path: Path, name: str) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "Existing?", "answer": "1"}\n', encoding="utf-8")
    import_seeds(db, str(good), "target")
    before = _dump(db)
    content, where, what = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        import_seeds(db, str(path), "target", append=True)
    message = str(raised.value)
    assert where in message and what in message
    assert len(message) < 400 and message.count("\n") <= 3
    assert _dump(db) == before


def test_a_50_mb_single_line_is_refused_briefly(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"body": "' + "x" * (50 * 1024 * 1024) + '"}\n')
    before = _dump(db)
    with pytest.raises(InputError) as raised:
        import_seeds(db, str(path), "huge")
    assert len(str(raised.value)) < 400
    assert _dump(db) == before


def test_a_bad_line_late_in_a_big_file_rolls_everything_back(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    rows = [json.dumps({"question": f"Q{i}?", "answer": str(i)}) for i in range(12_000)]
    rows.append("{broken")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=":12001:"):
        import_seeds(db, str(path), "late")
    assert db.execute("SELECT COUNT(*) FROM seeds").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM seed_sets").fetchone()[0] == 0


def test_unknown_source_kinds(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_seeds(db, str(tmp_path / "missing.jsonl"), "x")
    (tmp_path / "data.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="unknown file type"):
        import_seeds(db, str(tmp_path / "data.txt"), "x")


def _jsonl(path: Path, count: int, start: int = 0) -> Path:
    rows = [json.dumps({"question": f"Q{i}?", "answer": str(i)}) for i in range(start, count)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_importing_again_under_a_name_is_refused_unless_append(
    db: Database, tmp_path: Path
) -> None:
    first = _jsonl(tmp_path / "a.jsonl", 3)
    second = _jsonl(tmp_path / "b.jsonl", 5)
    import_seeds(db, str(first), "set")
    with pytest.raises(InputError, match="already exists .*--append"):
        import_seeds(db, str(second), "set")
    assert _count(db, "set") == 3
    report = import_seeds(db, str(second), "set", append=True)
    assert (report.added, report.skipped, report.appended) == (2, 3, True)
    assert _count(db, "set") == 5
    source = db.execute("SELECT source FROM seed_sets WHERE name = 'set'").fetchone()[0]
    assert str(first) in source and str(second) in source  # both files are named


@pytest.mark.parametrize(
    ("name", "what"),
    [("two\nlines", "one line"), ("x" * 5000, "at most 200"), ("   ", "empty"), ("a\x00b", "one")],
)
def test_bad_set_names_are_refused(db: Database, tmp_path: Path, name: str, what: str) -> None:
    with pytest.raises(InputError, match=what):
        import_seeds(db, str(_jsonl(tmp_path / "a.jsonl", 2)), name)
    assert db.execute("SELECT COUNT(*) FROM seed_sets").fetchone()[0] == 0


def test_a_big_import_commits_in_batches_and_stays_invisible_until_done(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other writers get the lock between batches; readers never see half a set."""
    from pipeline.seeds import importer

    monkeypatch.setattr(importer, "BATCH", 1_000)
    path = _jsonl(tmp_path / "big.jsonl", 5_500)
    commits: list[int] = []
    seen: list[int | None] = []
    real_commit = importer._commit

    def spy(db_: Database, batch: list[tuple[object, ...]]) -> int:
        assert not db_.conn.in_transaction  # reading and parsing happen outside transactions
        commits.append(len(batch))
        seen.append(seed_set_id(db, "big"))
        return real_commit(db_, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_commit", spy)
    report = import_seeds(db, str(path), "big")
    assert report.added == 5_500
    assert commits == [1_000] * 5 + [500]
    assert seen == [None] * 6  # invisible while importing
    assert _count(db, "big") == 5_500
    assert db.execute("SELECT status FROM seed_sets").fetchall() == [("ready",)]


def test_a_killed_import_leaves_nothing_visible_and_the_next_one_cleans_up(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.seeds import importer

    monkeypatch.setattr(importer, "BATCH", 1_000)
    path = _jsonl(tmp_path / "big.jsonl", 3_000)

    def killed(db_: Database, batch: list[tuple[object, ...]]) -> int:
        raise SystemExit("killed")  # no cleanup runs after a real SIGKILL either

    staging = importer._Staging.discard
    monkeypatch.setattr(importer._Staging, "discard", lambda self: None)
    real_commit = importer._commit
    calls = {"n": 0}

    def commit_then_die(db_: Database, batch: list[tuple[object, ...]]) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            return killed(db_, batch)
        return real_commit(db_, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_commit", commit_then_die)
    with pytest.raises(SystemExit):
        import_seeds(db, str(path), "big")
    assert db.execute("SELECT COUNT(*) FROM seeds").fetchone()[0] == 1_000  # staged rows
    assert seed_set_id(db, "big") is None and list_seed_sets(db) == []
    monkeypatch.setattr(importer, "_commit", real_commit)
    monkeypatch.setattr(importer._Staging, "discard", staging)
    assert import_seeds(db, str(path), "big").added == 3_000
    assert db.execute("SELECT COUNT(*) FROM seeds").fetchone()[0] == 3_000
