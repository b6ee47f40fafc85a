"""The benchmark registry: every named benchmark read from the real files, row by row."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.benchmarks import BENCHMARKS, Prompt, get_benchmark, load_benchmark, open_benchmark
from pipeline.errors import ConfigError, InputError
from pipeline.seeds.sources import champ_heldout_ids, read_source

# name -> (items, distinct subjects, distinct levels, first gold) on ../shared/data
EXPECTED: dict[str, tuple[int, int, int, str]] = {
    "gsm8k": (1319, 0, 0, "18"),
    "math500": (500, 7, 5, "\\left( 3, \\frac{\\pi}{2} \\right)"),
    "college_math": (2818, 7, 0, "10-4 n"),
    "olympiadbench": (675, 4, 0, "2"),
    "gsmplus": (2100, 0, 0, "4.33"),
    "gsmplus_distraction": (300, 0, 0, "3"),
    "minerva_math": (272, 9, 0, "1.6"),
    "svamp": (1000, 5, 0, "145"),
    "asdiv": (2215, 25, 0, "9"),
    "mawps": (2065, 4, 0, "43"),
    "aime24": (30, 0, 0, "204"),
    "amc23": (40, 0, 0, "27"),
}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_benchmark_reads_its_real_file(name: str, shared_data: Path) -> None:
    loaded = open_benchmark(name, shared_data)
    count, subjects, levels, first_gold = EXPECTED[name]
    assert len(loaded.items) == count
    assert all(item.text and item.gold for item in loaded.items)
    assert [item.index for item in loaded.items] == list(range(count))
    assert len({i.subject for i in loaded.items if i.subject}) == subjects
    assert len({i.level for i in loaded.items if i.level}) == levels
    assert loaded.items[0].gold == first_gold
    assert loaded.source.startswith(str(shared_data))


def test_gold_rules_and_text_layouts(shared_data: Path) -> None:
    gsm8k = open_benchmark("gsm8k", shared_data).items
    assert {i.gold_rule for i in gsm8k} == {"hash"}
    minerva = open_benchmark("minerva_math", shared_data).items
    assert {i.gold_rule for i in minerva} == {"boxed"}  # \boxed{} in the solution
    svamp = open_benchmark("svamp", shared_data).items[0]
    assert svamp.text.startswith("There are 87 oranges") and svamp.text.endswith("bananas?")
    olympiad = open_benchmark("olympiadbench", shared_data).items
    assert olympiad[1].gold == "\\frac{1}{2 n+2}"  # ["$\\frac{1}{2 n+2}$"] -> its maths
    assert open_benchmark("math500", shared_data).items[0].level == "2"


def test_duplicate_lines_each_count(shared_data: Path) -> None:
    for name in ("mawps", "college_math", "asdiv"):
        texts = Counter(item.text for item in open_benchmark(name, shared_data).items)
        assert max(texts.values()) > 1, name  # repeated questions are still separate items


def test_gsmplus_subsets(shared_data: Path) -> None:
    every = list(read_source(str(shared_data / "gsmplus" / "testmini.jsonl")))
    types = Counter(row["perturbation_type"] for _, row in every)
    gsmplus = open_benchmark("gsmplus", shared_data).items
    assert Counter(i.subset for i in gsmplus) == {
        t: n for t, n in types.items() if t != "critical thinking"
    }
    distraction = open_benchmark("gsmplus_distraction", shared_data).items
    assert {i.subset for i in distraction} == {"distraction insertion"}
    assert len(distraction) == types["distraction insertion"] == 300


def test_champ_split_is_fixed_disjoint_and_named() -> None:
    seeds = [row["id"] for _, row in read_source("champ")]
    held = [row["id"] for _, row in read_source("champ:heldout")]
    assert (len(seeds), len(held)) == (220, 50)
    assert not set(seeds) & set(held)
    everything = [row["id"] for _, row in read_source("champ:all")]
    assert sorted(seeds + held) == sorted(everything)
    # The split depends on the ids alone, not on their order.
    assert champ_heldout_ids(list(reversed(everything))) == frozenset(held)
    bench = open_benchmark("champ_heldout")  # no data dir: the installed package
    assert [i.item for i in bench.items] == held
    assert bench.source == "champ:heldout" and all(i.gold for i in bench.items)


def test_mixed_layouts_in_one_file(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "merged.jsonl",
        [
            {"question": "Tom has 3 apples and buys 2. How many?", "answer": "#### 5"},
            {"problem": "What is $1+1$?", "solution": "It is $\\boxed{2}$."},
            {"Body": "Ann has 4 pens.", "Question": "How many pens?", "Answer": 4.0},
            {"input": "Joan found 70 shells and gave 27 away. How many left?", "target": 43},
            {"question": "Find x.", "final_answer": ["$x=3$"], "context": "x + 1 = 4."},
        ],
    )
    items = load_benchmark(str(path), need_gold=True)
    assert [i.gold for i in items] == ["5", "2", "4", "43", "x=3"]
    assert [i.gold_rule for i in items] == ["hash", "boxed", "field", "field", "field"]
    assert items[2].text == "Ann has 4 pens. How many pens?"
    assert items[4].text == "x + 1 = 4. Find x."


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown benchmark 'gsm9k' \(known: gsm8k, math,"):
        get_benchmark("gsm9k")
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'"):
        open_benchmark("gsm9k", tmp_path)
    no_question = write_jsonl(tmp_path / "a" / "test.jsonl", [{"prompt_id": 1, "answer": "3"}])
    with pytest.raises(
        InputError, match=r"test.jsonl:1: .*no question field .* has answer, prompt_id"
    ):
        open_benchmark(str(no_question))
    no_answer = write_jsonl(tmp_path / "b" / "test.jsonl", [{"question": "Q?", "note": "x"}])
    with pytest.raises(InputError, match=r"test.jsonl:1: .*no answer field .* has note, question"):
        open_benchmark(str(no_answer))
    assert load_benchmark(str(no_answer))[0].gold is None  # decontamination needs no answer
    with pytest.raises(ConfigError, match="no data dir given .* gsm8k=hub"):
        open_benchmark("gsm8k")
    with pytest.raises(ConfigError, match="no college_math/test.jsonl under"):
        open_benchmark("college_math", tmp_path)
    with pytest.raises(ConfigError, match="college_math' has no known Hub copy"):
        open_benchmark("college_math=hub")
    with pytest.raises(ConfigError, match="nope.jsonl is not a file"):
        open_benchmark("gsm8k=nope.jsonl")


def test_named_copy_takes_the_registry_mapping(tmp_path: Path) -> None:
    rows = [
        {"question": f"Q{i}?", "answer": str(i), "perturbation_type": t}
        for i, t in enumerate(["critical thinking", "digit expansion", "distraction insertion"])
    ]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    items = open_benchmark(f"gsmplus={path}").items
    assert [i.subset for i in items] == ["digit expansion", "distraction insertion"]
    assert [i.index for i in items] == [0, 1]


def test_hub_copies_go_through_datasets(tmp_path: Path) -> None:
    # A local folder stands in for the Hub: `datasets.load_dataset` reads it for real.
    folder = tmp_path / "hub_math"
    write_jsonl(
        folder / "test.jsonl",
        [
            {
                "problem": "What is 2+3?",
                "solution": "$\\boxed{5}$",
                "level": "Level 2",
                "type": "Algebra",
            },
            {
                "problem": "What is 2*3?",
                "solution": "$\\boxed{6}$",
                "level": "Level 1",
                "type": "Prealgebra",
            },
        ],
    )
    loaded = open_benchmark(f"math=hf:{folder}:test")
    assert [(i.gold, i.level, i.subject) for i in loaded.items] == [
        ("5", "2", "Algebra"),
        ("6", "1", "Prealgebra"),
    ]
    assert loaded.name == "math" and loaded.source == f"hf:{folder}:test"
    plain = open_benchmark(f"hf:{folder}:test")
    assert plain.name == str(folder) and plain.items[0].gold == "5"
    with pytest.raises(ConfigError, match="hf:ORG/NAME:SPLIT"):
        open_benchmark("hf:only-a-name")


def test_digest_follows_the_items(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"question": "Q?", "answer": "1"}])
    first = open_benchmark(str(path)).digest
    assert open_benchmark(str(path)).digest == first
    write_jsonl(path, [{"question": "Q?", "answer": "2"}])
    assert open_benchmark(str(path)).digest != first


def test_registry_entries_are_complete() -> None:
    required = {
        "gsm8k", "math", "math500", "college_math", "olympiadbench", "gsmplus",
        "gsmplus_distraction", "minerva_math", "svamp", "asdiv", "mawps", "aime24", "amc23",
        "champ_heldout",
    }  # fmt: skip
    assert required <= set(BENCHMARKS)
    for bench in BENCHMARKS.values():
        assert bench.files or bench.package, bench.name
        assert "{question}" in bench.prompt.user
        assert bench.hub is None or bench.hub.startswith("hf:")
    messages = Prompt(system="Be brief.").render("What is $\\frac{1}{2}$ of {4}?")
    assert messages[0] == ("system", "Be brief.")
    assert messages[1][1].startswith("What is $\\frac{1}{2}$ of {4}?\nPlease reason step by step")


def test_the_held_out_part_decontaminates_without_files() -> None:
    from pipeline.decontam import NgramIndex, load_benchmarks

    index = NgramIndex(load_benchmarks(["champ_heldout"]), n=8)
    assert len(index.items) == 50
    held = next(row["problem"] for _, row in read_source("champ:heldout"))
    seeds = [row["problem"] for _, row in read_source("champ")]
    matches = index.match([held, *seeds])
    assert matches.overlap[0] == 1.0  # a held-out problem is caught
    # No seed holds a held-out problem: the split keeps what the generator sees apart.
    assert float(matches.overlap[1:].max()) < 0.95
