"""Reading problems from JSONL files, with errors that name the file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

# Where the problem text is looked for when no field is given, in this order.
TEXT_FIELDS = ("question", "problem", "text")


@dataclass
class Record:
    """One problem of an input file: its id (the `id` field, else the line number) and text."""

    id: Any
    text: str
    line: int
    data: dict[str, Any] = field(default_factory=dict)


def decode_line(raw: bytes, path: str, line: int) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 (byte {exc.start}); re-encode the file as UTF-8", path=path, line=line
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON ({exc.msg} at column {exc.colno})", path=path, line=line
        ) from None
    if not isinstance(value, dict):
        raise InputError("expected a JSON object per line", path=path, line=line)
    return value


def text_of(data: dict[str, Any], fields: tuple[str, ...], path: str, line: int) -> str:
    """The first of `fields` present in `data`, which must be a string."""
    for name in fields:
        if name in data:
            value = data[name]
            if value is None:
                return ""
            if not isinstance(value, str):
                raise InputError(
                    f"expected text, got {type(value).__name__}", path=path, line=line, field=name
                )
            return value
    wanted = " or ".join(f"'{f}'" for f in fields)
    raise InputError(f"no {wanted} field; name the text field with --field", path=path, line=line)


def iter_records(
    path: str | Path, text_field: str | None = None, keep_data: bool = False
) -> Iterator[Record]:
    """Records of a JSONL file, one per non-blank line, in file order."""
    name = str(path)
    fields = (text_field,) if text_field else TEXT_FIELDS
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=name) from None
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            data = decode_line(raw, name, lineno)
            text = text_of(data, fields, name, lineno)
            ident = data.get("id", lineno)
            yield Record(id=ident, text=text, line=lineno, data=data if keep_data else {})


def read_records(
    path: str | Path, text_field: str | None = None, keep_data: bool = False
) -> list[Record]:
    """All records of a JSONL file; duplicate ids are an error (pairs would be ambiguous)."""
    records = list(iter_records(path, text_field, keep_data))
    seen: dict[Any, int] = {}
    for rec in records:
        key = json.dumps(rec.id)
        if key in seen:
            raise InputError(
                f"id {key} already used on line {seen[key]}; ids must be unique",
                path=str(path),
                line=rec.line,
                field="id",
            )
        seen[key] = rec.line
    return records


def is_file_source(source: str) -> bool:
    """True for an existing file; an error for a missing path; False for an experiment name."""
    path = Path(source)
    if path.is_file():
        return True
    if path.suffix in (".jsonl", ".json") or "/" in source or path.exists():
        raise InputError("no such file (an experiment name has no '/' or .jsonl)", path=source)
    return False
