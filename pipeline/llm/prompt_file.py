"""`flames llm run`'s work: a JSONL file of prompts in, the same lines plus responses out.

Each input line has `prompt` (a string) or `messages` (a chat list of {role, content})
and optionally `id`; every other field is carried through untouched. The output is
written only once every request has an answer or a stored error, to a temporary file
renamed into place, so a killed run never leaves a half file and a rerun (answered
from the cache) writes the complete one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.llm.backend import Backend
from pipeline.llm.engine import Engine
from pipeline.llm.request import Messages, Request
from pipeline.llm.spec import SamplingParams
from pipeline.progress import Reporter, ignore


@dataclass(frozen=True)
class PromptLine:
    """One input line: the original object and the request it asks for."""

    line: int
    data: dict[str, Any]
    request: Request


@dataclass(frozen=True)
class RunSummary:
    """What a prompt-file run did."""

    lines: int
    requests: int
    cached: int
    failed: int


def read_prompts(path: str | Path, params: SamplingParams) -> list[PromptLine]:
    """Parse and check every line of `path` (blank lines are skipped)."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=where) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=where) from None
    lines: list[PromptLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", path=where, line=number) from None
        if not isinstance(data, dict):
            raise InputError("each line must be a JSON object", path=where, line=number)
        lines.append(PromptLine(number, data, _request(data, params, where, number)))
    if not lines:
        raise InputError("no prompts: the file is empty", path=where)
    return lines


def _request(data: dict[str, Any], params: SamplingParams, where: str, line: int) -> Request:
    prompt, messages = data.get("prompt"), data.get("messages")
    if (prompt is None) == (messages is None):
        raise InputError(
            "give exactly one of 'prompt' (a string) or 'messages' (a chat list)",
            path=where,
            line=line,
        )
    if prompt is not None:
        if not isinstance(prompt, str):
            raise InputError("must be a string", path=where, line=line, field="prompt")
        return Request(prompt=prompt, params=params)
    return Request(messages=_messages(messages, where, line), params=params)


def _messages(value: Any, where: str, line: int) -> Messages:
    if not isinstance(value, list) or not value:
        raise InputError(
            "must be a non-empty list of {role, content} objects",
            path=where,
            line=line,
            field="messages",
        )
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("role"), str)
            and isinstance(item.get("content"), str)
        ):
            raise InputError(
                f"item {i} must be an object with string 'role' and 'content'",
                path=where,
                line=line,
                field="messages",
            )
        pairs.append((item["role"], item["content"]))
    return tuple(pairs)


def check_out_path(path: str | Path) -> None:
    """Fail before any model work if the output file cannot be written where asked."""
    out = Path(path)
    if out.is_dir():
        raise InputError("is a folder; give a file path for --out", path=str(path))
    if not out.parent.is_dir():
        raise InputError(f"folder {out.parent} does not exist", path=str(path))
    # The output is written as a scratch file in the folder, then renamed: try exactly that.
    probe = out.with_name(f".{out.name}.{os.getpid()}.probe")
    try:
        probe.open("w", encoding="utf-8").close()
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"cannot write in folder {out.parent} ({exc.strerror or exc}); give another --out",
            path=str(path),
        ) from None


def run_prompt_file(
    db: Database,
    backend: Backend,
    in_path: str | Path,
    out_path: str | Path,
    params: SamplingParams,
    *,
    max_attempts: int = 3,
    retry_failed: bool = True,
    progress: Reporter = ignore,
) -> RunSummary:
    """Answer every prompt of `in_path` through the engine and write `out_path`."""
    lines = read_prompts(in_path, params)
    check_out_path(out_path)
    engine = Engine(
        db,
        backend,
        max_attempts=max_attempts,
        retry_failed=retry_failed,
        progress=progress,
        stage="llm run",
    )
    results = engine.run([p.request for p in lines])
    n = max(1, params.n)
    out = Path(out_path)
    scratch = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    failed = cached = 0
    with scratch.open("w", encoding="utf-8") as handle:
        for i, prompt_line in enumerate(lines):
            samples = results[i * n : (i + 1) * n]
            row = dict(prompt_line.data)
            row["response"] = samples[0].text
            if n > 1:
                row["responses"] = [s.text for s in samples]
            errors = [s.error for s in samples if s.status == "failed"]
            if errors:
                row["error"] = errors[0]
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        for result in results:
            failed += result.status == "failed"
            cached += result.cached
    os.replace(scratch, out)
    return RunSummary(len(lines), len(results), cached, failed)


def sampling_params(base: SamplingParams, **overrides: Any) -> SamplingParams:
    """`base` with the given (non-None) fields replaced."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if "stop" in given:
        given["stop"] = tuple(given["stop"])
    return replace(base, **given)
