"""JSON Lines in and out: the one reader (errors name file and line) and the one writer.

The writer goes to `OUT.part` and renames it into place on success, so a reader never sees
a half-written file; an interrupted write keeps the `.part` (a resumable stage can pick it
up). Output is strict JSON: NaN and infinities are refused, not written as `NaN`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pipeline.errors import InputError


def decode_line(raw: bytes | str, path: str, line: int) -> dict[str, Any]:
    """One JSONL line as an object; InputError naming `path:line` when it is not one."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid UTF-8 (byte {exc.start}); re-encode the file as UTF-8",
                path=path,
                line=line,
            ) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON ({exc.msg} at column {exc.colno})", path=path, line=line
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=path, line=line) from None
    if not isinstance(value, dict):
        raise InputError("expected a JSON object per line", path=path, line=line)
    return value


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) for every non-blank line of a JSONL file."""
    file = Path(path)
    if not file.is_file():
        raise InputError("no such file", path=str(file))
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, decode_line(raw, str(file), number)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a JSONL file (see `iter_jsonl`)."""
    return [row for _, row in iter_jsonl(path)]


def dumps(row: Any) -> str:
    """One line of strict JSON (UTF-8 kept readable); NaN/inf become null."""
    try:
        return json.dumps(row, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(row), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class JsonlWriter:
    """Write rows to `OUT.part`; `commit()` (or leaving the `with` cleanly) renames it to OUT.

    On an exception the `.part` stays, holding every row written before it.
    """

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise InputError(f"folder {self.path.parent} does not exist", path=str(self.path))
        self.part = self.path.with_name(self.path.name + ".part")
        try:
            self._handle: IO[str] | None = open(  # noqa: SIM115 - closed in commit/__exit__
                self.part, "a" if append else "w", encoding="utf-8"
            )
        except OSError as exc:
            raise InputError(f"cannot write here ({exc.strerror})", path=str(self.part)) from None
        self.rows = 0

    def write(self, row: Any) -> None:
        assert self._handle is not None, "writer already committed"
        self._handle.write(dumps(row) + "\n")
        self.rows += 1

    def write_all(self, rows: Iterable[Any]) -> int:
        for row in rows:
            self.write(row)
        return self.rows

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def commit(self) -> Path:
        """Close and move the finished file into place."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            os.replace(self.part, self.path)
        return self.path

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        elif self._handle is not None:
            self._handle.close()
            self._handle = None


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> int:
    """Write all `rows` to `path` atomically; returns how many."""
    with JsonlWriter(path) as writer:
        return writer.write_all(rows)
