"""Training inputs checked before any model loads: data fields, the [training] keys, the spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import parse_config
from pipeline.config.schema import TrainingConfig
from pipeline.digest import file_sha256
from pipeline.errors import ConfigError, InputError
from pipeline.training.datafile import check_data_file
from pipeline.training.spec import TrainSpec
from pipeline.training.worker import describe_failure

CHAT = [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_sft_layouts_are_recognised_and_hashed(tmp_path: Path) -> None:
    chats = check_data_file(write(tmp_path / "a.jsonl", [{"messages": CHAT}] * 3), "sft")
    assert chats.rows == 3 and chats.layout == ("messages",)
    assert chats.sha256 == file_sha256(tmp_path / "a.jsonl") and len(chats.sha256) == 64
    plain = write(tmp_path / "b.jsonl", [{"prompt": "1+1?", "completion": "2", "id": 7}])
    assert check_data_file(plain, "sft").layout == ("prompt", "completion")
    text = write(tmp_path / "c.jsonl", [{"text": "What is 1+1?"}])
    assert check_data_file(text, "sft").layout == ("text",)


def test_sft_rows_given_to_dpo_name_the_fields_expected_and_found(tmp_path: Path) -> None:
    path = write(tmp_path / "sft.jsonl", [{"messages": CHAT}])
    with pytest.raises(InputError) as caught:
        check_data_file(path, "dpo")
    message = str(caught.value)
    assert message.startswith(f"{path}:1: ")
    assert "prompt + chosen + rejected" in message and "this row has messages" in message
    assert "looks like a SFT file" in message


def test_dpo_pairs_given_to_sft_say_so(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "b"}])
    assert check_data_file(path, "dpo").layout == ("prompt", "chosen", "rejected")
    with pytest.raises(InputError, match=r"SFT needs messages.*prompt, rejected"):
        check_data_file(path, "sft")


def test_bad_rows_are_named_by_line_and_field(tmp_path: Path) -> None:
    no_answer = write(tmp_path / "a.jsonl", [{"messages": CHAT}, {"messages": CHAT[:1]}])
    with pytest.raises(InputError, match=r"a.jsonl:2: field 'messages': .*end with an assistant"):
        check_data_file(no_answer, "sft")
    mixed = write(tmp_path / "b.jsonl", [{"messages": CHAT}, {"prompt": "x", "completion": "y"}])
    with pytest.raises(InputError, match=r"b.jsonl:2: SFT row lacks 'messages'"):
        check_data_file(mixed, "sft")
    wrong_type = write(tmp_path / "c.jsonl", [{"chosen": "a", "rejected": 3}])
    with pytest.raises(InputError, match=r"c.jsonl:1: field 'rejected': expected a string"):
        check_data_file(wrong_type, "dpo")
    with pytest.raises(InputError, match="no rows"):
        check_data_file(write(tmp_path / "d.jsonl", []), "sft")
    with pytest.raises(InputError, match="no such training data file"):
        check_data_file(tmp_path / "missing.jsonl", "sft")


def test_parquet_files_are_checked_too(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "q", "chosen": "a", "rejected": "b"}]), path)
    assert check_data_file(path, "dpo").rows == 1


def test_training_keys_are_range_checked_in_one_line() -> None:
    base = '[experiment]\nname = "t"\n[training]\n'
    for body, key in (
        ("lora_dropout = 1.5", "training.lora_dropout"),
        ("lora_r = 0", "training.lora_r"),
        ("max_steps = 0", "training.max_steps"),
        ('precision = "int4"', "training.precision"),
        ("lora_target_modules = []", "training.lora_target_modules"),
        ("checkpoints = 0", "training.checkpoints"),
        ("warmup_ratio = 1.0", "training.warmup_ratio"),
        ('rft_start = "middle"', "training.rft_start"),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config(base + body, source="x.toml")
        assert str(caught.value).startswith(f"x.toml: key '{key}'"), caught.value
    config = parse_config(
        base + 'lora_target_modules = ["q_proj"]\nmax_steps = 20\nselect_benchmarks = ["gsm8k"]'
    )
    assert config.training.lora_target_modules == ("q_proj",)
    assert config.training.select_benchmarks == ("gsm8k",)


def test_spec_round_trips_through_the_plan_json() -> None:
    spec = TrainSpec(
        data="d.jsonl",
        model="m",
        out="o",
        method="step_dpo",
        settings=TrainingConfig(lora_target_modules=("q_proj",), select_benchmarks=("gsm8k",)),
    )
    again = TrainSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec and again.trainer == "dpo"
    assert spec.with_settings(max_steps=5).settings.max_steps == 5
    with pytest.raises(ConfigError, match="unknown training setting"):
        spec.with_settings(epoch=2)
    with pytest.raises(ConfigError, match="unknown training method"):
        TrainSpec(data="d", model="m", out="o", method="ppo")


def test_out_of_memory_names_the_settings_to_lower() -> None:
    spec = TrainSpec(data="d", model="m", out="o", settings=TrainingConfig(lora=False))
    message = describe_failure(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), spec)
    assert message.startswith("out of memory: lower --batch-size (now 8) or --max-seq-len")
    assert "--gradient-accumulation" in message and "--lora" in message
    assert "\n" not in message
    other = describe_failure(ValueError("bad thing\nmore"), spec)
    assert other == "training failed: ValueError: bad thing"
