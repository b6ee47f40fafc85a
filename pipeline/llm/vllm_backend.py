"""The vLLM backend (extra `gpu`): offline `LLM` engines, tensor- and data-parallel.

With `data_parallel_size` > 1, each replica is a child process pinned to its own
`tensor_parallel_size` GPUs; a batch is split across replicas and each replica's
share is yielded as soon as it finishes. vllm is imported only here, and only when
this backend is chosen.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from pipeline.errors import FlamesError, first_line
from pipeline.llm.backend import Completion, chat_template_text, truncate_at_stop
from pipeline.llm.models import merge_adapter, model_identity, resolve_model
from pipeline.llm.request import Request
from pipeline.llm.spec import ModelSpec

BATCHES_PER_CALL = 8
REPLICA_START_S = 1800.0  # loading a large model onto its GPUs can take many minutes  # the engine hands over max_batch_size * this; vLLM schedules within it


class VllmBackend:
    """Runs requests on vLLM, in this process or on data-parallel replica processes."""

    def __init__(self, spec: ModelSpec, model_id: str, llm: Any, replicas: list[_Replica]) -> None:
        self.spec = spec
        self.model_id = model_id
        self.batch_size = max(1, spec.max_batch_size) * BATCHES_PER_CALL * max(1, len(replicas))
        self._llm = llm
        self._replicas = replicas

    @classmethod
    def load(cls, spec: ModelSpec) -> VllmBackend:
        """Check vllm and the GPUs are there, then start the engine(s)."""
        try:
            import vllm  # noqa: F401
        except ImportError as exc:
            raise FlamesError(
                "the vllm backend needs vllm: pip install -e '.[gpu]' on a GPU "
                "machine (or use --backend transformers)"
            ) from exc
        import torch

        tp, dp = max(1, spec.tensor_parallel_size), max(1, spec.data_parallel_size)
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus == 0:
            raise FlamesError(
                "the vllm backend needs a CUDA GPU and none is visible; "
                "use --backend transformers on this machine"
            )
        if tp * dp > gpus:
            raise FlamesError(
                f"tensor_parallel_size {tp} x data_parallel_size {dp} needs "
                f"{tp * dp} GPUs, but {gpus} are visible"
            )
        model = _model_path(spec.model)
        if spec.chat_template:
            spec = replace(spec, chat_template=chat_template_text(spec.chat_template))
        if dp == 1:
            return cls(spec, model_identity(spec.model), _make_llm(spec, model), [])
        visible = _visible_gpus(gpus)
        replicas = [_Replica(spec, model, visible[r * tp : (r + 1) * tp]) for r in range(dp)]
        backend = cls(spec, model_identity(spec.model), None, replicas)
        for replica in replicas:  # wait until every replica has its engine, or say why not
            state, detail = replica.outbox.get(timeout=REPLICA_START_S)
            if state != "ready":
                backend.close()
                raise FlamesError(f"a vLLM replica could not start: {detail}")
        return backend

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | Exception]]:
        """Run the batch; yield every answer of a replica's share once it is done."""
        if not self._replicas:
            yield from enumerate(run_llm(self._llm, list(requests), self.spec.chat_template))
            return
        shares: list[list[int]] = [[] for _ in self._replicas]
        for i in range(len(requests)):
            shares[i % len(self._replicas)].append(i)
        for replica, share in zip(self._replicas, shares, strict=True):
            replica.inbox.put([requests[i] for i in share])
        pending = {id(r): (r, share) for r, share in zip(self._replicas, shares, strict=True)}
        while pending:
            for key, (replica, share) in list(pending.items()):
                try:
                    answers = replica.outbox.get(timeout=0.2)
                except Exception:  # queue.Empty: not done yet
                    if not replica.process.is_alive():
                        del pending[key]
                        for i in share:
                            yield i, RuntimeError("a vLLM replica process died")
                    continue
                del pending[key]
                yield from zip(share, answers, strict=True)

    def close(self) -> None:
        """Stop the replicas and drop the engine."""
        for replica in self._replicas:
            replica.inbox.put(None)
            replica.process.join(timeout=30)
            if replica.process.is_alive():
                replica.process.terminate()
        self._replicas = []
        self._llm = None


class _Replica:
    """One child process with its own LLM on its own GPUs."""

    def __init__(self, spec: ModelSpec, model: str, gpus: list[str]) -> None:
        context = mp.get_context("spawn")  # CUDA cannot be forked
        self.inbox: Any = context.Queue()
        self.outbox: Any = context.Queue()
        self.process = context.Process(
            target=_replica_main, daemon=True, args=(spec, model, gpus, self.inbox, self.outbox)
        )
        self.process.start()


def _replica_main(spec: ModelSpec, model: str, gpus: list[str], inbox: Any, outbox: Any) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    try:
        llm = _make_llm(spec, model)
    except Exception as exc:  # reported to the parent, which raises it as one line
        outbox.put(("error", str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)))
        return
    outbox.put(("ready", None))
    while (batch := inbox.get()) is not None:
        outbox.put(run_llm(llm, batch, spec.chat_template))


def _make_llm(spec: ModelSpec, model: str) -> Any:
    from vllm import LLM

    try:
        return LLM(
            model=model,
            tensor_parallel_size=max(1, spec.tensor_parallel_size),
            dtype=spec.dtype,
            max_num_seqs=max(1, spec.max_batch_size) * BATCHES_PER_CALL,
        )
    except (OSError, ValueError) as exc:
        first = first_line(exc)
        raise FlamesError(f"vLLM cannot load model '{spec.model}': {first}") from exc


def run_llm(
    llm: Any, requests: list[Request], chat_template: str | None
) -> list[Completion | Exception]:
    """Run prompts with `LLM.generate` and chats with `LLM.chat`; answers in input order."""
    from vllm import SamplingParams

    def sampling(request: Request) -> Any:
        p = request.params
        return SamplingParams(
            n=1,
            temperature=p.temperature,
            top_p=p.top_p,
            top_k=p.top_k if p.top_k > 0 else -1,
            max_tokens=p.max_new_tokens,
            seed=request.sample_seed(),
            stop=list(p.stop) or None,
        )

    answers: list[Completion | Exception] = [RuntimeError("no answer")] * len(requests)
    prompts = [i for i, r in enumerate(requests) if r.prompt is not None]
    # A chat that continues its final assistant message is rendered without a generation
    # prompt, ending inside that message; vLLM takes the choice per call, so two groups.
    chats = [i for i, r in enumerate(requests) if r.messages is not None and not r.continue_final]
    continued = [i for i, r in enumerate(requests) if r.continue_final]
    try:
        if prompts:
            outs = llm.generate(
                [requests[i].prompt for i in prompts],
                [sampling(requests[i]) for i in prompts],
                use_tqdm=False,
            )
            for i, out in zip(prompts, outs, strict=True):
                answers[i] = _completion(out, requests[i])
        for group, extend in ((chats, False), (continued, True)):
            if not group:
                continue
            outs = llm.chat(
                [requests[i].chat() for i in group],
                [sampling(requests[i]) for i in group],
                use_tqdm=False,
                chat_template=chat_template,
                add_generation_prompt=not extend,
                continue_final_message=extend,
            )
            for i, out in zip(group, outs, strict=True):
                answers[i] = _completion(out, requests[i])
    except Exception as exc:  # a failed call fails the requests it had not answered
        answers = [a if isinstance(a, Completion) else exc for a in answers]
    return answers


def _completion(out: Any, request: Request) -> Completion:
    first = out.outputs[0]
    text, cut = truncate_at_stop(first.text, request.params.stop)
    return Completion(
        text,
        "stop" if cut else first.finish_reason,
        len(out.prompt_token_ids or []),
        len(first.token_ids or []),
    )


def _model_path(model: str) -> str:
    """The weights folder vLLM loads; a LoRA output folder is merged once, then loaded.

    Merging (not vLLM's `enable_lora`/`LoRARequest`) keeps one code path for every model,
    serves at full speed, and needs no LoRA rank limits set on the engine.
    """
    source = resolve_model(model)
    if source.adapter is not None:
        return str(merge_adapter(source.adapter))
    return source.weights


def _visible_gpus(count: int) -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [g.strip() for g in listed.split(",") if g.strip()]
    return [str(i) for i in range(count)]
