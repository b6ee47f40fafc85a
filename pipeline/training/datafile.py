"""Checking a training data file before any model loads: right fields for the trainer, a hash.

TRL's types (what `pipeline.datasets` writes): SFT takes `messages` (a chat), `prompt` +
`completion` (strings or chats) or `text`; DPO takes `chosen` + `rejected`, with a `prompt`
(strings or chats). A file of the wrong kind fails here naming the fields it expected and
the ones it found, instead of deep inside TRL minutes later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.digest import file_sha256
from pipeline.errors import InputError
from pipeline.jsonl import iter_jsonl
from pipeline.training.spec import Trainer

# The layouts each trainer accepts, in the order they are recognised.
LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sft": (("messages",), ("prompt", "completion"), ("text",)),
    "dpo": (("prompt", "chosen", "rejected"), ("chosen", "rejected")),
}
EXPECTED: dict[str, str] = {
    "sft": "messages, or prompt + completion, or text",
    "dpo": "prompt + chosen + rejected (prompt may be left inside chosen/rejected)",
}


@dataclass(frozen=True)
class DataFile:
    """A checked training file: its rows, its layout and the sha256 of its bytes."""

    path: Path
    rows: int
    layout: tuple[str, ...]
    sha256: str


def check_data_file(path: str | Path, trainer: Trainer) -> DataFile:
    """Read every row of `path` (JSONL or Parquet) and check it fits `trainer`."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError("no such training data file", path=str(file))
    layout: tuple[str, ...] | None = None
    count = 0
    for line, row in _rows(file):
        count += 1
        if layout is None:
            layout = _layout_of(row, trainer, str(file), line)
        _check_row(row, layout, trainer, str(file), line)
    if layout is None:
        raise InputError(f"no rows: a {trainer.upper()} file needs at least one", path=str(file))
    return DataFile(file.resolve(), count, layout, file_sha256(file))


def _rows(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if file.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(str(file))
        except Exception as exc:  # pyarrow raises several kinds for a broken file
            raise InputError(f"cannot read it as Parquet ({exc})", path=str(file)) from None
        yield from enumerate(table.to_pylist(), start=1)
        return
    yield from iter_jsonl(file)


def _layout_of(row: dict[str, Any], trainer: Trainer, path: str, line: int) -> tuple[str, ...]:
    present = {key for key, value in row.items() if value is not None}
    for layout in LAYOUTS[trainer]:
        if set(layout) <= present:
            return layout
    other = "dpo" if trainer == "sft" else "sft"
    hint = ""
    if any(set(layout) <= present for layout in LAYOUTS[other]):
        hint = f" (this looks like a {other.upper()} file)"
    found = ", ".join(sorted(row)) or "no fields"
    raise InputError(
        f"{trainer.upper()} needs {EXPECTED[trainer]}; this row has {found}{hint}",
        path=path,
        line=line,
    )


def _check_row(
    row: dict[str, Any], layout: tuple[str, ...], trainer: Trainer, path: str, line: int
) -> None:
    for name in layout:
        value = row.get(name)
        if value is None:
            raise InputError(
                f"{trainer.upper()} row lacks '{name}' (the file's first row has "
                f"{', '.join(layout)}; every row needs the same fields)",
                path=path,
                line=line,
            )
        if name == "messages":
            _check_chat(value, name, path, line, need_assistant=True)
        elif isinstance(value, list):
            _check_chat(value, name, path, line, need_assistant=False)
        elif not isinstance(value, str):
            raise InputError(
                f"expected a string or a list of role/content turns, got {type(value).__name__}",
                path=path,
                line=line,
                field=name,
            )


def _check_chat(value: Any, name: str, path: str, line: int, *, need_assistant: bool) -> None:
    if not isinstance(value, list) or not value:
        raise InputError(
            "expected a non-empty list of {role, content} turns", path=path, line=line, field=name
        )
    for turn in value:
        if not (
            isinstance(turn, dict)
            and isinstance(turn.get("role"), str)
            and isinstance(turn.get("content"), str)
        ):
            raise InputError(
                "every turn needs a string 'role' and 'content'", path=path, line=line, field=name
            )
    if need_assistant and value[-1]["role"] != "assistant":
        raise InputError(
            "the chat must end with an assistant turn (the target the model learns)",
            path=path,
            line=line,
            field=name,
        )
