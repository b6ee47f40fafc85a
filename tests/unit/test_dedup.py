"""Near-duplicate detection: normalisation, known pairs, clusters, blocking recall, file mode."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.dedup.duplicates import find_duplicates
from pipeline.dedup.files import dedup_file
from pipeline.dedup.scoring import exhaustive_pairs
from pipeline.dedup.search import search_pairs
from pipeline.dedup.text import normalize
from pipeline.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]

EGGS = "Janet's ducks lay 16 eggs per day. She eats three for breakfast and sells the rest for $2 each."
EGGS_PUNCT = "janet s DUCKS lay 16 eggs per day!! she eats three for breakfast, and sells the rest for 2 each"
EGGS_17 = "Janet's ducks lay 17 eggs per day. She eats three for breakfast and sells the rest for $2 each."
TRAIN = "A train travels 60 miles per hour for 3 hours. How far does it go in total?"
TRIANGLE = "In triangle ABC the angle at B is a right angle; find the length of the hypotenuse."


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def family_texts(n_bases: int, variants: int, seed: int = 0) -> list[str]:
    """Synthetic word problems, each with perturbed variants (numbers, swaps, order)."""
    rng = random.Random(seed)
    names = ["Ava", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]
    things = ["apples", "pencils", "marbles", "stickers", "coins", "books", "shells", "cards"]
    verbs = ["buys", "finds", "gives away", "sells", "collects", "loses", "trades", "keeps"]
    texts: list[str] = []
    for _ in range(n_bases):
        sentences = [
            f"{rng.choice(names)} has {rng.randint(2, 99)} {rng.choice(things)}.",
            f"Each day {rng.choice(names)} {rng.choice(verbs)} {rng.randint(2, 30)} of them "
            f"and {rng.choice(verbs)} {rng.randint(2, 30)} {rng.choice(things)}.",
            f"After {rng.randint(2, 12)} days, how many {rng.choice(things)} are left "
            f"if {rng.choice(names)} also {rng.choice(verbs)} {rng.randint(2, 50)}?",
        ]
        base = " ".join(sentences)
        texts.append(base)
        for _ in range(variants):
            words = base.split(" ")
            for _ in range(rng.randint(1, 3)):
                k = rng.randrange(len(words) - 1)
                if words[k].isdigit():
                    words[k] = str(rng.randint(2, 99))
                else:
                    words[k], words[k + 1] = words[k + 1], words[k]
            texts.append(" ".join(words))
    rng.shuffle(texts)
    return texts


def test_normalize_folds_case_punctuation_unicode_and_keeps_numbers() -> None:
    assert normalize("  Hello,   WORLD!! ") == "hello world"
    assert normalize(EGGS) == normalize(EGGS_PUNCT)
    assert normalize(EGGS) != normalize(EGGS_17)
    assert normalize("Ｆｕｌｌ－ｗｉｄｔｈ １２") == "full width 12"  # NFKC
    assert normalize("Évaluez $\\frac{1}{2}$ à l’école") == "évaluez frac 1 2 à l école"
    assert normalize("STRASSE Straße") == "strasse strasse"  # casefold
    assert normalize("$x^2 + y_1 = 3.5$") == "x 2 y 1 3 5"
    assert normalize("") == "" and normalize(" ?! ") == ""


def test_known_pairs_clusters_and_nearest_neighbours() -> None:
    texts = [EGGS, TRAIN, EGGS_PUNCT, EGGS_17, TRIANGLE]
    result = find_duplicates(texts, 0.9)
    pairs = {
        (int(a), int(b)): float(s)
        for aa, bb, ss in result.item_pairs()
        for a, b, s in zip(aa, bb, ss, strict=True)
    }
    assert set(pairs) == {(0, 2), (0, 3), (2, 3)}
    assert pairs[(0, 2)] == 1.0  # same normalised text
    assert 0.9 <= pairs[(0, 3)] < 1.0
    assert result.is_exact_dup.tolist() == [False, False, True, False, False]
    assert result.representative.tolist() == [0, 1, 0, 0, 4]
    assert result.nn[0] == 2 and result.nn_sim[0] == 1.0
    assert result.nn[3] == 0  # ties between the two copies go to the earlier one
    assert result.nn[1] == -1 and result.nn[4] == -1
    assert result.dup_of is not None and result.dup_of.tolist() == [-1, -1, 0, 0, -1]


def test_scores_match_exhaustive_and_scorer_is_configurable() -> None:
    texts = [normalize(t) for t in (EGGS, EGGS_17, TRAIN, "a train travels 60 miles per hour")]
    left, right, score = exhaustive_pairs(texts, 0.5)
    found = search_pairs(texts, 0.5)
    exact = {(int(a), int(b)): float(s) for a, b, s in zip(left, right, score, strict=True)}
    blocked = {
        (int(a), int(b)): float(s)
        for a, b, s in zip(found.left, found.right, found.score, strict=True)
    }
    assert set(blocked) <= set(exact)
    assert all(abs(blocked[k] - exact[k]) < 1e-6 for k in blocked)
    swapped = ["red apples and green pears", "green pears and red apples"]
    plain = find_duplicates(swapped, 0.95)
    assert plain.n_clusters == 2
    from pipeline.dedup.search import SearchOptions

    token = find_duplicates(swapped, 0.95, options=SearchOptions(scorer="token_sort_ratio"))
    assert token.n_clusters == 1
    with pytest.raises(ConfigError, match="unknown scorer"):
        find_duplicates(swapped, 0.9, options=SearchOptions(scorer="nope"))


def test_blocked_recall_against_exhaustive_on_families() -> None:
    texts = [normalize(t) for t in dict.fromkeys(family_texts(150, 4))]
    left, right, score = exhaustive_pairs(texts, 0.9)
    truth = set(zip(left.tolist(), right.tolist(), strict=True))
    found = search_pairs(texts, 0.9)
    got = set(zip(found.left.tolist(), found.right.tolist(), strict=True))
    assert len(truth) > 300
    assert got <= truth  # exact scoring: no false pairs
    assert len(got & truth) / len(truth) >= 0.98


def test_empty_texts_are_skipped_and_their_own_clusters() -> None:
    result = find_duplicates(["", EGGS, "  ", EGGS, "!!"], 0.9)
    assert result.n_empty == 3
    assert result.representative.tolist() == [0, 1, 2, 1, 4]
    assert result.nn.tolist() == [-1, 3, -1, 1, -1]
    assert sum(len(a) for a, _, _ in result.item_pairs()) == 1
    assert find_duplicates([], 0.9).n_items == 0


def test_representative_preference_breaks_towards_quality_then_earliest() -> None:
    texts = [EGGS, EGGS_17, EGGS_PUNCT, TRAIN]
    by_quality = find_duplicates(texts, 0.9, preference=[0.1, 0.9, 0.9, 0.0])
    assert by_quality.representative.tolist() == [1, 1, 1, 3]
    assert by_quality.dup_of is not None and by_quality.dup_of[1] == -1
    assert by_quality.dup_of[0] == 2  # the most similar item that outranks it
    with pytest.raises(ConfigError, match="threshold"):
        find_duplicates(texts, 0.0)


def test_clusters_are_deterministic_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    texts = family_texts(40, 3, seed=5)
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": i, "question": t} for i, t in enumerate(texts)]
    )
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"clusters{seed}.jsonl"
        code = (
            "import sys; from pipeline.dedup.files import dedup_file; "
            "dedup_file(sys.argv[1], 0.85, clusters_out=sys.argv[2], pairs_out=sys.argv[3])"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(src), str(out), str(out) + ".pairs"],
            check=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        outputs.append((out.read_text(), Path(str(out) + ".pairs").read_text()))
    assert outputs[0] == outputs[1]
    a = find_duplicates(texts, 0.85)
    b = find_duplicates(texts, 0.85)
    assert np.array_equal(a.representative, b.representative)


def test_file_mode_writes_pairs_and_clusters_with_ids_or_line_numbers(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "problem": EGGS},
            {"problem": TRAIN},
            {"id": 7, "problem": EGGS_17},
        ],
    )
    pairs_out, clusters_out = tmp_path / "pairs.jsonl", tmp_path / "clusters.jsonl"
    summary = dedup_file(src, 0.9, pairs_out=pairs_out, clusters_out=clusters_out)
    assert summary.items == 3 and summary.pairs == 1 and summary.clusters == 2
    [pair] = read_jsonl(pairs_out)
    assert pair["a"] == "a" and pair["b"] == 7 and 0.9 <= float(pair["score"]) < 1  # type: ignore[arg-type]
    rows = read_jsonl(clusters_out)
    assert [r["id"] for r in rows] == ["a", 2, 7]  # line 2 has no id
    assert rows[2]["cluster"] == "a" and rows[2]["representative"] is False
    custom = write_jsonl(tmp_path / "c.jsonl", [{"body": EGGS}, {"body": EGGS_PUNCT}])
    assert dedup_file(custom, 0.9, text_field="body").exact_dups == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": 1, "question": "fine"}\n{"id": 2, "answer": "4"}\n', "in.jsonl:2: no 'question'"),
        (b'{"question": "fine"}\n{"question": "caf\xe9"}\n', "in.jsonl:2: not valid UTF-8"),
        (b'{"question": "fine"}\nnot json\n', "in.jsonl:2: not valid JSON"),
        (b'{"question": 3}\n', "field 'question': expected text"),
        (b'{"id": 1, "question": "a"}\n{"id": 1, "question": "b"}\n', "already used on line 1"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    with pytest.raises(InputError) as info:
        dedup_file(src, 0.9)
    assert message in str(info.value)


def test_cli_reports_errors_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"question": "caf\xe9"}\n')
    run = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "dedup", str(src)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0
    assert "not valid UTF-8" in run.stderr and "Traceback" not in run.stderr
