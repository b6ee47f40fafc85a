"""Dataset records (TRL types), JSONL/Parquet writers and dataset cards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipeline.datasets.cards import DatasetCard, StrategyRow, card_paths, read_card, write_card
from pipeline.datasets.formats import (
    DatasetWriter,
    preference_record,
    sft_record,
    write_dataset,
)
from pipeline.errors import ConfigError, InputError


def test_records_follow_trl_types() -> None:
    assert sft_record("messages", "Q", "A") == {
        "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    }
    assert sft_record("prompt-completion", "Q", "A") == {"prompt": "Q", "completion": "A"}
    assert sft_record("messages", "Q", "A", system="S")["messages"][0]["role"] == "system"
    pair = preference_record("messages", "Q", "good", "bad")
    assert pair["chosen"] == [{"role": "assistant", "content": "good"}]
    assert preference_record("prompt-completion", "Q", "g", "b") == {
        "prompt": "Q",
        "chosen": "g",
        "rejected": "b",
    }
    with pytest.raises(ConfigError, match="record format 'chat' is unknown"):
        sft_record("chat", "Q", "A")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_writers_round_trip_hash_and_refuse_to_overwrite(tmp_path: Path, suffix: str) -> None:
    import datasets

    path = tmp_path / f"train{suffix}"
    records = [sft_record("messages", f"Q{i}", f"A{i}") for i in range(5)]
    written = write_dataset(path, records)
    assert written.rows == 5 and written.path == path
    assert written.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not path.with_name(path.name + ".part").exists()
    loaded = datasets.load_dataset(
        "json" if suffix == ".jsonl" else "parquet", data_files=str(path), split="train"
    )
    assert loaded[3]["messages"][1]["content"] == "A3"
    with pytest.raises(InputError, match="already exists.*--force"):
        write_dataset(path, records)
    assert write_dataset(path, records[:1], overwrite=True).rows == 1


def test_parquet_in_several_row_groups_and_a_failed_write_publishes_nothing(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "big.parquet"
    with DatasetWriter(path, batch=3) as writer:
        writer.write_all(sft_record("prompt-completion", f"Q{i}", "A") for i in range(10))
    assert writer.commit().rows == 10
    assert pq.read_table(path).num_rows == 10
    broken = tmp_path / "broken.jsonl"
    with pytest.raises(RuntimeError), DatasetWriter(broken) as writer:
        writer.write({"prompt": "Q", "completion": "A"})
        raise RuntimeError("interrupted")
    assert not broken.exists()


def test_unknown_suffix_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.jsonl or \.parquet"):
        write_dataset(tmp_path / "x.csv", [])
    with pytest.raises(InputError, match="does not exist"):
        write_dataset(tmp_path / "nope" / "x.jsonl", [])


def test_card_json_and_markdown(tmp_path: Path) -> None:
    card = DatasetCard(
        name="mix",
        kind="sft",
        experiment="demo",
        arm="base",
        record_format="messages",
        selection={"policy": "first", "judge_min": None, "decontam_max": 0.95},
        strategies=(StrategyRow("iqc", 1, ratio=0.5, needed=2, available=1),),
        command="flames export sft demo --out x.jsonl",
        skipped={"truncated": 2},
        models={"teacher": ["qwen"]},
        files={"x.jsonl": "abc"},
    )
    json_path, md_path = write_card(card, tmp_path / "x.jsonl")
    assert (json_path, md_path) == card_paths(tmp_path / "x.jsonl")
    assert json.loads(json_path.read_text())["total_written"] == 1
    assert read_card(json_path) == card
    text = md_path.read_text()
    assert "1 example" in text and "judge_min off" in text and "2 truncated" in text
    assert "sha256 `abc`" in text and "Reproduce: `flames export sft demo" in text
    with pytest.raises(InputError, match="already exists"):
        write_card(card, tmp_path / "x.jsonl")
