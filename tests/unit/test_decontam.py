"""Decontamination: n-gram containment, short items, benchmark layouts, file mode, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.benchmarks.loading import BenchItem, load_benchmark, load_benchmarks
from pipeline.decontam.contamination import decontaminate_file
from pipeline.decontam.index import NgramIndex
from pipeline.errors import ConfigError, InputError

TEN = "one two three four five six seven eight nine ten"  # 3 distinct 8-grams


def bench(*texts: str, name: str = "b") -> list[BenchItem]:
    return [BenchItem(benchmark=name, item=i, text=t) for i, t in enumerate(texts)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_overlap_is_the_share_of_the_items_distinct_ngrams() -> None:
    index = NgramIndex(bench(TEN, "alpha beta gamma delta epsilon zeta eta theta iota"), n=8)
    problems = [
        f"Prefix words. {TEN.upper()}! And more.",  # all 3 grams, case and punctuation folded
        "one two three four five six seven eight nine",  # 2 of 3
        "one two three four five six seven",  # none: shorter than one gram
        "ten nine eight seven six five four three two one",  # reversed: none
        "",
    ]
    m = index.match(problems)
    assert m.overlap[0] == 1.0 and m.item[0] == 0
    assert abs(float(m.overlap[1]) - 2 / 3) < 1e-6
    assert m.overlap[2] == 0 and m.item[2] == -1
    assert m.overlap[3] == 0 and m.overlap[4] == 0


def test_best_item_wins_and_ties_go_to_the_earlier_item() -> None:
    index = NgramIndex(bench(TEN + " eleven twelve", TEN, TEN), n=8)
    m = index.match([TEN, TEN + " eleven twelve"])
    assert m.item[0] == 1 and m.overlap[0] == 1.0  # item 0 only 3/5
    assert m.item[1] == 0 and m.overlap[1] == 1.0  # all three tie at 1.0


def test_short_items_match_by_exact_normalised_containment() -> None:
    index = NgramIndex(bench("Simplify: $-10-4(n-5)$", "What is 2+2?", "   "), n=8)
    assert index.short_items == 2 and index.empty == 1
    m = index.match(
        [
            "Please simplify -10 - 4 (n - 5) and explain.",
            "Simplify -10-4(n-6)",
            "whatever is 2+2?",  # "what" is not a word of "whatever"
            "So what is 2 + 2",
        ]
    )
    assert m.overlap.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert m.item.tolist() == [0, -1, -1, 1]


def test_unicode_and_latex_are_folded_before_matching() -> None:
    item = "Évaluez $\\frac{1}{2} + \\sqrt{9}$ pour l’élève, puis donnez la réponse finale."
    index = NgramIndex(bench(item), n=8)
    m = index.match(["ÉVALUEZ \\frac 1 2 + \\sqrt 9 pour l'élève puis donnez la réponse finale"])
    assert m.overlap[0] == 1.0


def test_benchmark_layouts_ids_and_short_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "svampish").mkdir(parents=True)
    write_jsonl(
        data / "svampish" / "test.jsonl",
        [
            {"Body": "There are 8 cats.", "Question": "How many legs?", "ID": "chal-1"},
            {"body": "Ann has 3 pens.", "question": "How many now?", "idx": 4},
            {"context": "A square has side 2.", "question": "Find its area.", "id": 9},
            {"context": None, "input": "Joan found 70 shells."},
            {"problem": "Solve x+1=2."},
        ],
    )
    items = load_benchmark("svampish", data_dir=data)
    assert [i.benchmark for i in items] == ["svampish"] * 5
    assert [i.item for i in items] == ["chal-1", 4, 9, 4, 5]
    assert items[0].text == "There are 8 cats. How many legs?"
    assert items[2].text == "A square has side 2. Find its area."
    assert items[3].text == "Joan found 70 shells."
    path_items = load_benchmark(str(data / "svampish" / "test.jsonl"))
    assert [i.text for i in path_items] == [i.text for i in items]
    with pytest.raises(ConfigError, match="unknown benchmark 'nope' \\(known: gsm8k"):
        load_benchmark("nope", data_dir=data)
    with pytest.raises(ConfigError, match="hf:ORG/NAME:SPLIT"):
        load_benchmark("hf:onlyname")
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question": "ok"}, {"answer": "4"}])
    with pytest.raises(
        InputError, match="bad.jsonl:2: benchmark .bad.: no question field .* this row has answer"
    ):
        load_benchmark(str(bad))
    with pytest.raises(ConfigError, match="no benchmark items"):
        load_benchmarks([" ", ""])


def test_hf_spec_goes_through_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    local = write_jsonl(tmp_path / "hub.jsonl", [{"problem": TEN, "unique_id": "u/1"}])
    real = datasets.load_dataset
    calls: list[tuple[Any, ...]] = []

    def offline(name: str, config: str | None = None, split: str | None = None) -> Any:
        calls.append((name, config, split))
        return real("json", data_files=str(local), split="train")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    items = load_benchmark("hf:org/set:main:test")
    assert calls == [("org/set", "main", "test")]
    assert items == [BenchItem(benchmark="org/set", item="u/1", text=TEN)]


def test_file_mode_adds_flags_and_keeps_input_fields(tmp_path: Path) -> None:
    index = NgramIndex(bench(TEN, name="gsm8k"), n=8)
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "x", "question": f"Note: {TEN}.", "extra": [1]},
            {"id": "y", "question": "one two three four five six seven eight nine"},
            {"id": "z", "question": "something else entirely"},
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = decontaminate_file(src, index, out, containment=0.95)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["x", "y", "z"] and rows[0]["extra"] == [1]
    assert [r["contaminated"] for r in rows] == [True, False, False]
    assert rows[0]["match"] == {"benchmark": "gsm8k", "item": 0, "text": TEN}
    assert rows[1]["overlap"] == pytest.approx(2 / 3, abs=1e-5) and rows[1]["match"]["item"] == 0
    assert rows[2]["overlap"] == 0 and rows[2]["match"] is None
    assert summary.contaminated == 1 and summary.by_benchmark == {"gsm8k": 1}
    low = decontaminate_file(src, index, out, containment=0.6)
    assert low.contaminated == 2


def test_file_mode_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    index = NgramIndex(bench(TEN), n=8)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"question": "fine"}\n{"question": "\xff\xfe"}\n')
    with pytest.raises(InputError, match="in.jsonl:2: not valid UTF-8"):
        decontaminate_file(src, index, tmp_path / "out.jsonl")
    src.write_bytes(b'{"text": "fine"}\n{"body": "no text field"}\n')
    with pytest.raises(InputError, match="in.jsonl:2: no 'question' or 'problem' or 'text'"):
        decontaminate_file(src, index, tmp_path / "out.jsonl")
    with pytest.raises(InputError, match="must differ"):
        decontaminate_file(src, index, src)
