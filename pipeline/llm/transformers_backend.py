"""The transformers backend: batched, left-padded generation on CPU or GPU.

Requests are sorted by prompt length and cut into batches of `max_batch_size`, so
little compute goes to padding. Each row samples with its own seed and params and
stops on its own (see `pipeline.llm.sampling`), so a seeded request gives the same
text whichever batch it lands in (up to float rounding differences of padding).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.errors import FlamesError
from pipeline.llm.backend import Completion, chat_template_text, truncate_at_stop
from pipeline.llm.models import load_causal_lm, model_identity, resolve_model
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec

# OpenMP's default busy-wait makes torch 10-15x slower when other busy processes share the
# CPU (16 tokens: 66 s against 4.3 s, measured on a loaded 2-core box); waiting passively
# costs little when the CPU is free. Only takes effect if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ENGINE_BATCHES = 4  # the engine hands over this many model batches at once, to sort by length


class TransformersBackend:
    """A causal LM loaded with transformers; `generate` yields each batch as it finishes."""

    def __init__(self, model: Any, tokenizer: Any, model_id: str, max_batch_size: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.max_batch_size = max(1, max_batch_size)
        self.batch_size = self.max_batch_size * ENGINE_BATCHES
        self.device = model.device
        end_ids = {tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)}
        flat: set[int] = set()
        for item in end_ids:
            if isinstance(item, int):
                flat.add(item)
            elif isinstance(item, list):
                flat.update(i for i in item if isinstance(i, int))
        self.end_ids = flat

    @classmethod
    def load(cls, spec: ModelSpec) -> TransformersBackend:
        """Load `spec.model` (a folder, a Hub id, or the embedded default)."""
        source = resolve_model(spec.model)  # before the heavy imports: bad paths fail fast
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # our own bar counts
        device = _device(spec.device, torch)
        dtype = _dtype(spec.dtype, device, torch)
        # A LoRA output folder loads as its base with the adapter merged in (pipeline.llm.models).
        model, tokenizer = load_causal_lm(source, dtype=dtype)
        model.to(device)
        model.eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if spec.chat_template:
            tokenizer.chat_template = chat_template_text(spec.chat_template)
        return cls(model, tokenizer, model_identity(spec.model), spec.max_batch_size)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Generate in length-sorted batches; yield every row of a batch when it is done."""
        texts: list[str] = []
        failed: list[tuple[int, Exception]] = []
        for request in requests:
            try:
                texts.append(self._render(request))
            except Exception as exc:  # a template that cannot render this chat
                texts.append("")
                failed.append((len(texts) - 1, exc))
        yield from failed
        bad = {i for i, _ in failed}
        order = sorted(
            (i for i in range(len(requests)) if i not in bad), key=lambda i: len(texts[i])
        )
        for start in range(0, len(order), self.max_batch_size):
            rows = order[start : start + self.max_batch_size]
            began = time.monotonic()
            try:
                done = self._generate_batch([requests[i] for i in rows], [texts[i] for i in rows])
            except Exception as exc:  # out of memory or a model error: fail this batch only
                for i in rows:
                    yield i, exc
                continue
            latency = time.monotonic() - began
            for i, completion in zip(rows, done, strict=True):
                completion.latency_s = latency
                yield i, completion

    def _render(self, request: Request) -> str:
        if request.prompt is not None:
            return request.prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise FlamesError(
                f"model '{self.model_id}' has no chat template; "
                "set chat_template in its model spec or send plain prompts"
            )
        if request.continue_final:
            # The chat rendered up to the end of the assistant prefix, with no end-of-turn
            # token after it: what the model generates continues the prefix.
            continued: str = self.tokenizer.apply_chat_template(
                request.chat(),
                tokenize=False,
                add_generation_prompt=False,
                continue_final_message=True,
            )
            return continued
        rendered: str = self.tokenizer.apply_chat_template(
            request.chat(), tokenize=False, add_generation_prompt=True
        )
        return rendered

    def _generate_batch(self, requests: list[Request], texts: list[str]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        from pipeline.llm.sampling import RowSampler, RowStopper

        encoded = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        prompt_len = encoded["input_ids"].shape[1]
        stopper = RowStopper(requests, prompt_len, self.end_ids, self.tokenizer)
        config = GenerationConfig(  # type: ignore[no-untyped-call]
            max_new_tokens=max(r.params.max_new_tokens for r in requests),
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self.end_ids) or None,
        )
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                generation_config=config,
                logits_processor=LogitsProcessorList([RowSampler(requests, self.device)]),
                stopping_criteria=StoppingCriteriaList([stopper]),
            )
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        results = []
        for row, request in enumerate(requests):
            new_ids = output[row, prompt_len:]
            length = stopper.lengths[row]
            if length is None:
                length = int(new_ids.shape[0])
            text = self.tokenizer.decode(new_ids[:length], skip_special_tokens=True)
            text, cut = truncate_at_stop(text, request.params.stop)
            reason = "stop" if cut else stopper.reasons[row]
            results.append(Completion(text, reason, int(prompt_tokens[row]), length))
        return results

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self.model = None
        self.tokenizer = None


def _resolve_model(model: str) -> str:
    """The folder or Hub id of `model`'s weights (an adapter folder: its base's)."""
    return resolve_model(model).weights


def _device(device: str, torch: Any) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FlamesError(
            f"device '{device}' asked for, but no CUDA GPU is available; "
            'use device = "cpu" or "auto"'
        )
    return device


def _dtype(dtype: str, device: str, torch: Any) -> Any:
    if dtype == "auto":
        # float32 on CPU: bfloat16 matmuls are ~50x slower on CPUs without AMX.
        return torch.float32 if device == "cpu" else torch.bfloat16
    chosen = getattr(torch, dtype, None)
    if not isinstance(chosen, torch.dtype):
        raise FlamesError(f"unknown dtype '{dtype}': use auto, float32, bfloat16 or float16")
    return chosen
