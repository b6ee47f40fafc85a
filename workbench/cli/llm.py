"""`flames llm`: run prompts through a model with the resumable, cached engine."""

from __future__ import annotations

from dataclasses import replace

import click

from pipeline.llm.spec import BACKENDS, ModelSpec, SamplingParams
from workbench.cli.options import db_option, retry_options


@click.group(name="llm")
def command() -> None:
    """Run prompts through a model with the resumable engine."""


@command.command(name="run")
@click.argument("prompts", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output JSONL: each input line plus `response`.",
)
@click.option(
    "--backend",
    default="transformers",
    show_default=True,
    help=f"Which model runner: {', '.join(BACKENDS)}.",
)
@click.option(
    "--model",
    default=None,
    help="Model folder or Hub id (default: the embedded SmolLM2-135M-Instruct; "
    "with --backend openai, the model the server lists, which must then list exactly one).",
)
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (repeat to load-balance).",
)
@click.option(
    "--endpoint",
    type=click.Choice(["chat", "completions"]),
    default="chat",
    show_default=True,
    help="openai: where plain prompts go.",
)
@click.option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="openai: env var holding the API key.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=10_000),
    default=None,
    help="openai: requests in flight at once [default: 64].",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1, max=86_400),
    default=None,
    help="openai: seconds per request [default: 120].",
)
@click.option(
    "--retries",
    "max_retries",
    type=click.IntRange(min=0, max=100),
    default=None,
    help="openai: retries per request on 429/5xx/timeouts [default: 5].",
)
@click.option(
    "--max-batch-size",
    type=click.IntRange(min=1, max=100_000),
    default=None,
    help="transformers/vllm: sequences per forward batch [default: 32].",
)
@click.option("--device", default=None, help="transformers: cpu, cuda, cuda:1 or auto.")
@click.option("--dtype", default=None, help="auto, float32, bfloat16 or float16.")
@click.option(
    "--temperature",
    type=click.FloatRange(min=0, max=100),
    default=None,
    help="Sampling temperature (0 = greedy) [default: 0.7].",
)
@click.option(
    "--top-p",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Nucleus sampling mass [default: 0.9].",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=0, max=1_000_000),
    default=None,
    help="Top-k (0 = off) [default: 50].",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1, max=1_000_000),
    default=None,
    help="Most tokens generated per response [default: 512].",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1, max=1_000),
    default=None,
    help="Samples per prompt; n > 1 adds `responses` (a list) to each line.",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Sampling seed (sample i uses seed + i) for reproducible runs.",
)
@click.option("--stop", multiple=True, help="Stop string (repeatable).")
@retry_options
@db_option
def run(
    prompts: str,
    out_path: str,
    backend: str,
    model: str | None,
    base_urls: tuple[str, ...],
    endpoint: str,
    api_key_env: str,
    concurrency: int | None,
    timeout_s: float | None,
    max_retries: int | None,
    max_batch_size: int | None,
    device: str | None,
    dtype: str | None,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    max_new_tokens: int | None,
    n: int | None,
    seed: int | None,
    stop: tuple[str, ...],
    max_attempts: int,
    retry_failed: bool,
    db_path: str,
) -> None:
    """Answer each line of PROMPTS ({"prompt": ...} or {"messages": [...]}, optional "id").

    Every response is cached in the workspace: rerunning after a crash or Ctrl-C sends
    only what is missing, then writes the complete output.
    """
    from pipeline.llm.backend import load_backend
    from pipeline.llm.prompt_file import (
        check_out_path,
        read_prompts,
        run_prompt_file,
        sampling_params,
    )
    from workbench.cli.options import open_workspace
    from workbench.cli.outcome import exit_if_failures
    from workbench.cli.progress import reporter_bar

    spec = _spec(
        backend=backend,
        model=model,
        base_urls=base_urls,
        endpoint=endpoint,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout_s=timeout_s,
        max_retries=max_retries,
        max_batch_size=max_batch_size,
        device=device,
        dtype=dtype,
    )
    params = sampling_params(
        SamplingParams(),
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_new_tokens=max_new_tokens,
        n=n,
        seed=seed,
        stop=stop or None,
    )
    read_prompts(prompts, params)  # bad input fails before a model is loaded
    check_out_path(out_path)
    db = open_workspace(db_path)
    model_backend = load_backend(spec)
    try:
        with reporter_bar(f"{model_backend.model_id}", transient=False) as progress:
            summary = run_prompt_file(
                db,
                model_backend,
                prompts,
                out_path,
                params,
                max_attempts=max_attempts,
                retry_failed=retry_failed,
                progress=progress,
            )
    finally:
        model_backend.close()
    sent = summary.requests - summary.cached
    click.echo(
        f"{summary.lines} lines -> {out_path}: {sent} sent, {summary.cached} from cache"
        f", {summary.failed} failed.",
        err=True,
    )
    exit_if_failures(
        summary.failed,
        f"requests given up after {max_attempts} tries (errors stored in {db_path} and in "
        "each line's `error`)",
    )


def _spec(**fields: object) -> ModelSpec:
    """A ModelSpec from the flags that were given (None means: keep the default)."""
    given = {k: v for k, v in fields.items() if v is not None and v != ()}
    return replace(ModelSpec(), **given)  # type: ignore[arg-type]
