"""Where a model comes from: the embedded default, a Hub id, a saved folder, or a LoRA adapter.

A training run's output folder is a model wherever one is accepted (`flames eval`, `flames
llm run`, a model role, the next `flames train --model`). It holds full weights
(`config.json`) or a LoRA adapter (`adapter_config.json`) whose base is recorded in
`flames-model.json` (the spec as the user gave it, e.g. the embedded model) and, as peft
writes it, in `adapter_config.json`. An adapter is applied to its base and merged in memory
for generation; `merge_adapter` writes the merged weights once (vLLM loads those).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import FlamesError, first_line
from pipeline.llm.spec import EMBEDDED_MODEL

MODEL_FILE = "flames-model.json"  # a finished training run: its base, format and stamp
PLAN_FILE = "flames-plan.json"  # a training run was planned into this folder
MERGED_DIR = "merged"  # a LoRA output merged into full weights
ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class ModelSource:
    """What to load for a model spec: weights (a folder or Hub id), maybe an adapter on top."""

    weights: str  # full weights: a folder or a Hub id (an adapter's base)
    adapter: str | None = None  # a LoRA adapter folder applied to `weights`
    tokenizer: str | None = None  # where the tokenizer lives, when not beside `weights`

    @property
    def tokenizer_source(self) -> str:
        return self.tokenizer or self.weights


def resolve_model(model: str) -> ModelSource:
    """The weights (and adapter) behind `model`; a bad path fails here in one line."""
    if model == EMBEDDED_MODEL:
        from pipeline.llm.embedded import model_dir

        return ModelSource(str(model_dir()))
    path = Path(model).expanduser()
    if path.exists():
        return _folder_source(path, model)
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise FlamesError(
            f"model path {model} does not exist; fix 'model' in the model spec or give --model"
        )
    return ModelSource(model)  # a Hugging Face Hub id, loaded from the local Hub cache


def tokenizer_source(model: str) -> str:
    """Where the tokenizer for `model` loads from: a folder holding a tokenizer as it is (a
    tokenizer may be kept without weights), else the model's own (`resolve_model`)."""
    path = Path(model).expanduser()
    if (path / "tokenizer_config.json").is_file():
        return str(path)
    return resolve_model(model).tokenizer_source


def _folder_source(path: Path, given: str) -> ModelSource:
    merged = path / MERGED_DIR
    if (path / ADAPTER_CONFIG).is_file():
        if _merged_is_current(path):
            return ModelSource(str(merged))  # merged once already: load plain weights
        base = adapter_base(path)
        resolved = resolve_model(base)
        if resolved.adapter is not None:
            raise FlamesError(
                f"model {given}: its base {base} is itself a LoRA adapter; "
                f"merge that one first (flames train ... --merge) and train on {base}/{MERGED_DIR}"
            )
        has_tokenizer = (path / "tokenizer_config.json").is_file()
        return ModelSource(resolved.weights, str(path), str(path) if has_tokenizer else None)
    if (path / "config.json").is_file():
        return ModelSource(str(path))
    if (path / PLAN_FILE).is_file():
        raise FlamesError(
            f"model path {given} holds a training run that has not finished; run the same "
            "flames train command to resume it, or give one of its checkpoint-N folders"
        )
    raise FlamesError(
        f"model path {given}: no config.json there (nor a LoRA adapter_config.json); "
        "give a folder saved with save_pretrained or written by flames train"
    )


def _merged_is_current(folder: Path) -> bool:
    """`folder`/merged exists and was merged from the adapter now in `folder` (same stamp)."""
    merged = folder / MERGED_DIR
    if not (merged / "config.json").is_file():
        return False
    mine, theirs = read_model_record(folder), read_model_record(merged)
    if theirs is None:  # a merge killed before its record was written
        return False
    return mine is None or mine.get("stamp") == theirs.get("stamp")


def adapter_base(folder: str | Path) -> str:
    """The base model of a LoRA adapter folder: as flames recorded it, else as peft did."""
    path = Path(folder)
    recorded = read_model_record(path)
    if recorded and isinstance(recorded.get("base_model"), str):
        return str(recorded["base_model"])
    try:
        config = json.loads((path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FlamesError(f"{path / ADAPTER_CONFIG}: cannot read it ({exc})") from None
    base = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    if not isinstance(base, str) or not base:
        raise FlamesError(
            f"{path / ADAPTER_CONFIG}: no base_model_name_or_path; "
            "the adapter's base model is unknown"
        )
    return base


def read_model_record(folder: str | Path) -> dict[str, Any] | None:
    """The `flames-model.json` a training run left in `folder`, or None."""
    file = Path(folder) / MODEL_FILE
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def model_identity(model: str) -> str:
    """The id a model's cached answers are stored under.

    A training output folder adds its run stamp, so a folder trained again (after being
    deleted) never serves the previous model's cached answers.
    """
    path = Path(model).expanduser()
    record = read_model_record(path) if path.is_dir() else None
    stamp = record.get("stamp") if record else None
    return f"{model}@{stamp}" if isinstance(stamp, str) and stamp else model


def load_causal_lm(
    source: ModelSource, *, dtype: Any, trainable: bool = False, merge: bool = True
) -> tuple[Any, Any]:
    """Model and tokenizer for `source`; an adapter is applied to its base.

    `merge` folds the adapter into the weights (fast generation); `trainable` keeps it a
    peft model whose adapter trains on (a LoRA run continued from a LoRA output).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source.tokenizer_source)
        model: Any = AutoModelForCausalLM.from_pretrained(source.weights, dtype=dtype)
        if source.adapter is not None:
            from peft import PeftModel

            with warnings.catch_warnings():  # peft still calls names transformers 5 renamed
                warnings.simplefilter("ignore", FutureWarning)
                model = PeftModel.from_pretrained(model, source.adapter, is_trainable=trainable)
                if merge and not trainable:
                    model = model.merge_and_unload()
    except (OSError, ValueError) as exc:
        first = first_line(exc)
        shown = source.adapter or source.weights
        raise FlamesError(f"cannot load model '{shown}': {first}") from exc
    return model, tokenizer


def merge_adapter(folder: str | Path) -> Path:
    """Write `folder`/merged: the adapter folded into its base's weights (done once).

    Written to a temporary folder and renamed into place, so a merge killed halfway leaves
    nothing that looks finished. Returns the merged folder.
    """
    path = Path(folder).expanduser().resolve()
    target = path / MERGED_DIR
    if _merged_is_current(path):
        return target
    if not (path / ADAPTER_CONFIG).is_file():
        raise FlamesError(
            f"{path}: not a LoRA adapter folder (no {ADAPTER_CONFIG}); nothing to merge"
        )
    source = resolve_model(str(path))  # not current, so this is the adapter on its base
    # "auto": the base checkpoint's own dtype, so vLLM serves bf16 weights as bf16.
    model, tokenizer = load_causal_lm(source, dtype="auto")
    scratch = Path(tempfile.mkdtemp(prefix=".merged-", dir=path))
    try:
        model.save_pretrained(str(scratch))
        tokenizer.save_pretrained(str(scratch))
        record = dict(read_model_record(path) or {})
        record.update({"format": "full", "merged_from": str(path)})
        (scratch / MODEL_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if target.exists():  # a stale merge (of an earlier adapter in this folder)
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
