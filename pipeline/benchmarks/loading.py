"""Benchmark items to decontaminate against: local JSONL files, short names, or `hf:` ids.

Kept small on purpose, so it can later delegate to the seed importer's field
mapping. A short name (`gsm8k`) resolves to `<data dir>/<name>/test.jsonl`,
where the data dir is given explicitly or by $FLAMES_DATA_DIR; the product
never assumes where data lives.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, InputError
from pipeline.jsonl import decode_line

DATA_DIR_ENV = "FLAMES_DATA_DIR"
# Single text fields, in the order they are tried.
TEXT_FIELDS = ("question", "problem", "input", "text", "Question", "Problem")
# Fields that name an item, in the order they are tried (else the 1-based row).
ID_FIELDS = ("id", "unique_id", "ID", "idx", "question_number")


@dataclass(frozen=True)
class BenchItem:
    """One benchmark problem: which benchmark, which item in it, and its text."""

    benchmark: str
    item: Any
    text: str


def item_text(row: Mapping[str, Any]) -> str | None:
    """The problem text of a benchmark row in any of the common layouts, or None."""
    for body, question in (("Body", "Question"), ("body", "question")):
        if isinstance(row.get(body), str) and isinstance(row.get(question), str):
            return f"{row[body].strip()} {row[question].strip()}".strip()
    context = row.get("context")
    for name in TEXT_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            if isinstance(context, str) and context.strip():
                return f"{context.strip()} {value}"
            return value
    return None


def _item_id(row: Mapping[str, Any], number: int) -> Any:
    for name in ID_FIELDS:
        value = row.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return number


def items_from_rows(name: str, rows: Iterable[Mapping[str, Any]], where: str) -> list[BenchItem]:
    """Benchmark items from rows; a row without a recognisable text field is an error."""
    items: list[BenchItem] = []
    for number, row in enumerate(rows, start=1):
        text = item_text(row)
        if text is None:
            fields = ", ".join(sorted(row)[:8])
            raise InputError(
                f"no problem text (looked for {', '.join(TEXT_FIELDS)} or "
                f"Body+Question; the row has {fields})",
                path=where,
                line=number,
            )
        items.append(BenchItem(benchmark=name, item=_item_id(row, number), text=text))
    return items


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            if raw.strip():
                rows.append(decode_line(raw, str(path), lineno))
    return rows


def _name_for(path: Path) -> str:
    # ../data/gsm8k/test.jsonl names itself "gsm8k"; other files by their stem.
    return path.parent.name if path.stem in ("test", "train", "validation") else path.stem


def _load_hf(spec: str) -> list[BenchItem]:
    """`hf:ORG/NAME[:CONFIG]:SPLIT` through `datasets.load_dataset` (needs the Hub or its cache)."""
    parts = spec[3:].split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(
            f"benchmark '{spec}': write hf:ORG/NAME:SPLIT or hf:ORG/NAME:CONFIG:SPLIT"
        )
    name, config, split = (parts[0], None, parts[1]) if len(parts) == 2 else parts
    import datasets

    try:
        data = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # the Hub client raises many types; all mean "cannot load"
        raise ConfigError(f"benchmark '{spec}': cannot load from the Hub ({exc})") from None
    return items_from_rows(name, data, spec)


def resolve(spec: str, data_dir: str | Path | None = None) -> Path:
    """The file a benchmark spec names: a path, or a short name under the data dir."""
    path = Path(spec)
    if path.is_file():
        return path
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if root and "/" not in spec:
        candidate = Path(root) / spec / "test.jsonl"
        if candidate.is_file():
            return candidate
    hint = (
        f"no {root}/{spec}/test.jsonl either"
        if root
        else f"give a path, an hf: id, or a short name with --data-dir / ${DATA_DIR_ENV}"
    )
    raise ConfigError(f"benchmark '{spec}': not a file ({hint})")


def load_benchmark(spec: str, data_dir: str | Path | None = None) -> list[BenchItem]:
    """Items of one benchmark: a JSONL path, a short name, or `hf:ORG/NAME[:CONFIG]:SPLIT`."""
    if spec.startswith("hf:"):
        return _load_hf(spec)
    path = resolve(spec, data_dir)
    return items_from_rows(_name_for(path), _read_jsonl(path), str(path))


def load_benchmarks(specs: Iterable[str], data_dir: str | Path | None = None) -> list[BenchItem]:
    """Items of several benchmarks, in the order given."""
    items: list[BenchItem] = []
    for spec in specs:
        spec = spec.strip()
        if spec:
            items.extend(load_benchmark(spec, data_dir))
    if not items:
        raise ConfigError("no benchmark items: give --against with at least one benchmark")
    return items
