"""TRL's own checks on an exported file: load it as `datasets` does, then run TRL's format
helpers and the trainers' dataset preprocessing (tokenisation) with a tiny tokenizer.

No model is built: `SFTTrainer._prepare_dataset` / `DPOTrainer._prepare_dataset` run on a
bare trainer object holding only what they read (the tokenizer, the chat template).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tiny_tokenizer() -> Any:
    """A word-level tokenizer with a chat template and an end token (no download)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<pad>": 1, "<eos>": 2, "<|end|>": 3}
    words = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    words.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def load(path: Path, cache: Path) -> Any:
    from datasets import load_dataset

    return load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache / "hf"))


def check_sft_file(path: Path, cache: Path) -> None:
    """The file is an SFT dataset TRL accepts: right keys, templated, tokenised."""
    from trl import SFTConfig, SFTTrainer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    dataset = load(path, cache)
    assert len(dataset) > 0
    tokenizer = tiny_tokenizer()
    first = dataset[0]
    if "messages" in first:
        assert is_conversational(first)
        assert maybe_apply_chat_template(first, tokenizer)["text"].startswith("<|user|>")
    else:
        assert set(first) == {"prompt", "completion"} and not is_conversational(first)
    trainer = SFTTrainer.__new__(SFTTrainer)
    trainer._tokenizer = tokenizer
    trainer.chat_template = None
    trainer.completion_only_loss = None
    args = SFTConfig(
        output_dir=str(cache / "sft"), dataset_num_proc=None, report_to=[], bf16=False, use_cpu=True
    )
    prepared = trainer._prepare_dataset(dataset, tokenizer, args, False, None, "train")
    assert len(prepared) == len(dataset) and "input_ids" in prepared.column_names


def check_preference_file(path: Path, cache: Path) -> None:
    """The file is a DPO dataset TRL accepts: preference keys, templated, tokenised."""
    from trl import DPOConfig, DPOTrainer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    dataset = load(path, cache)
    assert len(dataset) > 0
    tokenizer = tiny_tokenizer()
    first = dataset[0]
    assert {"prompt", "chosen", "rejected"} <= set(first)
    if is_conversational(first):
        templated = maybe_apply_chat_template(first, tokenizer)
        assert templated["prompt"].endswith("<|assistant|>")
        assert templated["chosen"].endswith("<|end|>") and templated["rejected"].endswith("<|end|>")
    else:
        assert all(isinstance(first[k], str) for k in ("prompt", "chosen", "rejected"))
    trainer = DPOTrainer.__new__(DPOTrainer)
    trainer._tokenizer = tokenizer
    args = DPOConfig(
        output_dir=str(cache / "dpo"), dataset_num_proc=None, report_to=[], bf16=False, use_cpu=True
    )
    prepared = trainer._prepare_dataset(dataset, tokenizer, args, "train")
    assert len(prepared) == len(dataset)
    assert {"prompt_ids", "chosen_ids", "rejected_ids"} <= set(prepared.column_names)
