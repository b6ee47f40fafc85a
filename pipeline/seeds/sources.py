"""Readers for seed sources: JSONL, JSON, CSV, Parquet, Hugging Face datasets and CHAMP.

Each reader yields `(row_number, record)` pairs; row numbers are 1-based lines (JSONL,
CSV counting the header as line 1) or positions (JSON, Parquet, Hub), so errors can
point at them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import InputError, first_line

Record = Mapping[str, Any]
FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
# Longest excerpt of a bad line quoted back to the user.
_EXCERPT = 60


# The embedded CHAMP set (270 problems) is split once and for all into a seed part and a
# held-out part, so the quickstart can evaluate (and decontaminate) against problems its
# seeds never showed the generator. The held-out part is the CHAMP_HELDOUT problems whose
# sha256(problem id) sort first: deterministic, independent of the package's order, and
# adding a problem moves at most one other across the boundary.
CHAMP_SOURCES = {
    "champ": "seed",  # the seed part: 220 problems
    "champ:heldout": "heldout",  # the held-out part: 50 problems (benchmark `champ_heldout`)
    "champ:all": "all",  # all 270
}
CHAMP_HELDOUT = 50


def describe_source(source: str) -> str:
    """A short human name for where seeds come from."""
    if source == "champ":
        return "champ (the embedded CHAMP set, seed part)"
    if source in CHAMP_SOURCES:
        return f"{source} (the embedded CHAMP set, {CHAMP_SOURCES[source]} part)"
    return source


def read_source(source: str) -> Iterator[tuple[int, Record]]:
    """Dispatch on the source's form: `champ[:heldout|:all]`, `hf:...`, or a file by suffix."""
    if source in CHAMP_SOURCES:
        return read_champ(CHAMP_SOURCES[source])
    if source.startswith("hf:"):
        return _read_hub(source)
    path = Path(source)
    if not path.exists():
        raise InputError(
            "no such file (give a .jsonl, .json, .csv or .parquet path, "
            "hf:ORG/NAME[:CONFIG]:SPLIT, or champ)",
            path=source,
        )
    if path.is_dir():
        raise InputError("is a folder; give a file inside it", path=source)
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise InputError(
            f"unknown file type '{suffix or '(none)'}'; expected one of "
            + ", ".join(FILE_SUFFIXES),
            path=source,
        )
    if path.stat().st_size == 0:
        raise InputError("file is empty: no seed problems to import", path=source)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".csv":
        return _read_csv(path)
    return _read_parquet(path)


def _excerpt(raw: bytes) -> str:
    text = raw[:_EXCERPT].decode("utf-8", errors="replace").strip()
    return text + ("..." if len(raw) > _EXCERPT else "")


def _read_jsonl(path: Path) -> Iterator[tuple[int, Record]]:
    rows = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)  # ~3x the stdlib on big seed files
            except orjson.JSONDecodeError:
                record = _parse_slowly(raw, path, number)
            if not isinstance(record, dict):
                raise InputError(
                    f"expected a JSON object per line, got {type(record).__name__}",
                    path=str(path),
                    line=number,
                )
            rows += 1
            yield number, record
    if rows == 0:
        raise InputError("has no JSON lines: nothing to import", path=str(path))


def _parse_slowly(raw: bytes, path: Path, number: int) -> Any:
    """The stdlib parser for what orjson refuses (NaN, ...), or the precise error."""
    if b"\x00" in raw:
        raise InputError(
            "binary data (NUL bytes), not UTF-8 text; seed files must be UTF-8 JSON Lines",
            path=str(path),
            line=number,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text at byte {exc.start} (binary data?); "
            "seed files must be UTF-8 JSON Lines",
            path=str(path),
            line=number,
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "the line ends early: truncated file?"
            if exc.pos >= len(text.rstrip())
            else f"column {exc.colno}: {exc.msg}"
        )
        raise InputError(
            f"not valid JSON ({hint}): {_excerpt(raw)!r}", path=str(path), line=number
        ) from None


def _read_json(path: Path) -> Iterator[tuple[int, Record]]:
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (binary data?)", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            path=str(path),
            line=exc.lineno,
        ) from None
    if isinstance(data, dict):
        lists = [key for key, value in data.items() if isinstance(value, list)]
        if len(lists) != 1:
            raise InputError(
                "expected a JSON array of objects, or an object holding exactly "
                'one array (such as {"data": [...]})',
                path=str(path),
            )
        data = data[lists[0]]
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty JSON array of objects", path=str(path))
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise InputError(
                f"item {number} is {type(record).__name__}, expected an object", path=str(path)
            )
        yield number, record


def _read_csv(path: Path) -> Iterator[tuple[int, Record]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text (binary data?)", path=str(path), line=line) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise InputError("has no header row", path=str(path))
    rows = 0
    try:
        for record in reader:
            if None in record:
                raise InputError(
                    "more cells than header columns", path=str(path), line=reader.line_num
                )
            rows += 1
            yield reader.line_num, record
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=str(path), line=reader.line_num) from None
    if rows == 0:
        raise InputError("has a header but no rows", path=str(path))


def _read_parquet(path: Path) -> Iterator[tuple[int, Record]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise InputError(f"not a readable Parquet file ({exc})", path=str(path)) from None
    if table.num_rows == 0:
        raise InputError("has no rows", path=str(path))
    number = 0
    for batch in table.to_batches(max_chunksize=10_000):
        for record in batch.to_pylist():
            number += 1
            yield number, record


def parse_hub_id(source: str) -> tuple[str, str | None, str]:
    """`hf:ORG/NAME[:CONFIG]:SPLIT` -> (name, config, split)."""
    parts = source[3:].split(":")
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise InputError(
        f"'{source}': expected hf:ORG/NAME:SPLIT or hf:ORG/NAME:CONFIG:SPLIT "
        "(for example hf:openai/gsm8k:main:test)"
    )


def _read_hub(source: str) -> Iterator[tuple[int, Record]]:
    name, config, split = parse_hub_id(source)
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise InputError("the `datasets` package is needed for hf: sources") from None
    try:
        dataset = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # network, missing dataset, bad split: all user-fixable
        first = first_line(exc)
        raise InputError(
            f"could not load '{source}' from the Hugging Face Hub: {first} "
            "(check the id, config and split, and that the Hub is reachable)"
        ) from None
    for number, record in enumerate(dataset, start=1):
        yield number, dict(record)


def champ_heldout_ids(identifiers: list[str], size: int = CHAMP_HELDOUT) -> frozenset[str]:
    """The held-out CHAMP problem ids: the `size` ids with the smallest sha256 digest."""
    ranked = sorted(identifiers, key=lambda name: hashlib.sha256(name.encode("utf-8")).digest())
    return frozenset(ranked[:size])


def read_champ(part: str = "seed") -> Iterator[tuple[int, Record]]:
    """CHAMP problems of one part (`seed`, `heldout` or `all`), numbered in package order."""
    try:
        import champ_dataset
    except ImportError:
        raise InputError(
            "the `champ-dataset` package is not installed; run `make install`"
        ) from None
    dataset = champ_dataset.load("v0")
    heldout = champ_heldout_ids([p.identifier for p in dataset.problems.values()])
    for number, problem in enumerate(dataset.problems.values(), start=1):
        if part != "all" and (problem.identifier in heldout) != (part == "heldout"):
            continue
        steps = problem.solution.steps if problem.solution is not None else []
        concepts = [
            dataset.concepts[c].text for c in problem.ch_list or [] if c in (dataset.concepts or {})
        ]
        hints = [dataset.hints[h].text for h in problem.ch_list or [] if h in (dataset.hints or {})]
        yield (
            number,
            {
                "id": problem.identifier,
                "problem": problem.text,
                "answer": problem.answer,
                "solution": "\n".join(step.text for step in steps),
                "category": problem.category,
                "concepts": concepts,
                "hints": hints,
            },
        )
