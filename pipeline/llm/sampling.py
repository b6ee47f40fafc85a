"""Per-row sampling and stopping for batched `generate` (imported only with torch).

Hugging Face `generate` samples a whole batch from one global RNG, so a request's
text would depend on which other requests share its batch. Here each row samples
from its own seeded generator with its own temperature/top-p/top-k, and hands
`generate` (run greedy) a score row where only the chosen token survives. Each row
also stops on its own max_new_tokens, end-of-sequence token or stop strings.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from transformers import LogitsProcessor, StoppingCriteria

from pipeline.llm.request import Request


class RowSampler(LogitsProcessor):
    """Samples each row with its own params and generator; greedy rows take the argmax."""

    def __init__(self, requests: Sequence[Request], device: torch.device) -> None:
        self.generators: list[torch.Generator] = []
        for request in requests:
            seed = request.sample_seed()
            generator = torch.Generator(device=device)
            generator.manual_seed(seed if seed is not None else random.getrandbits(63))
            self.generators.append(generator)
        # Rows sharing (temperature, top_k, top_p) are filtered together in one tensor op;
        # only the final draw is per row, from that row's own generator.
        self.groups: dict[tuple[float, int, float], list[int]] = {}
        for row, request in enumerate(requests):
            p = request.params
            self.groups.setdefault((p.temperature, p.top_k, p.top_p), []).append(row)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        chosen = torch.empty(scores.shape[0], dtype=torch.long, device=scores.device)
        for (temperature, top_k, top_p), rows in self.groups.items():
            index = torch.tensor(rows, device=scores.device)
            logits = scores.index_select(0, index).float()
            if temperature <= 0:
                chosen[index] = torch.argmax(logits, dim=-1)
                continue
            if 0 < top_k < logits.shape[1]:
                values, indices = torch.topk(logits, top_k, dim=-1)
            else:
                values, indices = torch.sort(logits, descending=True, dim=-1)
            probs = torch.softmax(values / temperature, dim=-1)
            if 0 < top_p < 1:
                cumulative = torch.cumsum(probs, dim=-1)
                keep = (cumulative - probs) < top_p  # always keeps the most likely token
                probs = torch.where(keep, probs, torch.zeros_like(probs))
            for j, row in enumerate(rows):
                picked = torch.multinomial(probs[j], 1, generator=self.generators[row])
                chosen[row] = indices[j, picked[0]]
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, chosen[:, None], 0.0)
        return out


class RowStopper(StoppingCriteria):
    """Stops each row at its max_new_tokens, an end token, or one of its stop strings."""

    def __init__(
        self, requests: Sequence[Request], prompt_len: int, end_ids: set[int], tokenizer: object
    ) -> None:
        self.prompt_len = prompt_len
        self.end_ids = end_ids
        self.tokenizer = tokenizer
        self.limits = [r.params.max_new_tokens for r in requests]
        self.stops = [r.params.stop for r in requests]
        # A stop string of s characters spans at most s tokens, plus one for a split start.
        self.windows = [max((len(s) for s in stops), default=0) + 1 for stops in self.stops]
        self.lengths: list[int | None] = [None] * len(requests)  # new tokens kept per row
        self.reasons: list[str] = ["length"] * len(requests)

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.Tensor | None, **kwargs: object
    ) -> torch.BoolTensor:
        new = input_ids.shape[1] - self.prompt_len
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in range(input_ids.shape[0]):
            if self.lengths[row] is not None:
                done[row] = True
                continue
            last = int(input_ids[row, -1])
            if last in self.end_ids:
                self._end(row, new - 1, "stop")
            elif self.stops[row] and self.stopped(row, input_ids[row]):
                self._end(row, new, "stop")
            elif new >= self.limits[row]:
                self._end(row, new, "length")
            done[row] = self.lengths[row] is not None
        return done  # type: ignore[return-value]

    def _end(self, row: int, length: int, reason: str) -> None:
        self.lengths[row] = length
        self.reasons[row] = reason

    def stopped(self, row: int, ids: torch.Tensor) -> bool:
        """Whether the tail of `ids` (this row's tokens so far) contains a stop string."""
        window = self.windows[row]
        tail_ids = ids[max(self.prompt_len, ids.shape[0] - window) :].tolist()
        tail: str = self.tokenizer.decode(tail_ids, skip_special_tokens=True)  # type: ignore[attr-defined]
        return any(stop in tail for stop in self.stops[row])
