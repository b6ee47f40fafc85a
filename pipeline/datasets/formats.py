"""Training records and the files that hold them: JSONL or Parquet, written atomically.

Records follow TRL's dataset types, so a file loads with `datasets.load_dataset` and trains
as is: conversational (`messages`, or a `prompt`/`chosen`/`rejected` of role/content lists)
or standard (plain `prompt`/`completion` strings). Every writer goes to `OUT.part` and
renames it into place, never overwrites a file unless asked, and reports the file's sha256
for the dataset card (`pipeline.datasets.cards`).

API (shared by the SFT, RFT, DPO and per-step DPO exports):
    sft_record(fmt, prompt, completion)             -> one SFT/RFT example
    preference_record(fmt, prompt, chosen, rejected) -> one DPO pair
    DatasetWriter(path, overwrite=False)            -> .write(record) ... .commit() -> WrittenFile
    write_dataset(path, records, overwrite=False)   -> WrittenFile
    check_new(path, overwrite)                      -> refuse to replace a file silently
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pipeline.digest import file_sha256
from pipeline.errors import ConfigError, InputError
from pipeline.jsonl import JsonlWriter

RecordFormat = Literal["messages", "prompt-completion"]
FileFormat = Literal["jsonl", "parquet"]
# "messages": conversational (role/content lists, the student's chat template applies);
# "prompt-completion": standard strings (the trainer's own formatting applies).
RECORD_FORMATS: tuple[RecordFormat, ...] = ("messages", "prompt-completion")
FILE_FORMATS: tuple[FileFormat, ...] = ("jsonl", "parquet")
_SUFFIXES: dict[str, FileFormat] = {".jsonl": "jsonl", ".parquet": "parquet"}
_PARQUET_BATCH = 2000


def _check_record_format(fmt: str) -> None:
    if fmt not in RECORD_FORMATS:
        raise ConfigError(
            f"record format '{fmt}' is unknown: use one of {', '.join(RECORD_FORMATS)}"
        )


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def sft_record(
    fmt: str, prompt: str, completion: str, *, system: str | None = None
) -> dict[str, Any]:
    """One supervised example: the problem as the user turn, the solution as the answer."""
    _check_record_format(fmt)
    if fmt == "messages":
        turns = [_turn("system", system)] if system else []
        return {"messages": [*turns, _turn("user", prompt), _turn("assistant", completion)]}
    if system:
        prompt = f"{system}\n\n{prompt}"
    return {"prompt": prompt, "completion": completion}


def preference_record(fmt: str, prompt: str, chosen: str, rejected: str) -> dict[str, Any]:
    """One preference pair (DPO) with an explicit prompt, in TRL's preference type."""
    _check_record_format(fmt)
    if fmt == "messages":
        return {
            "prompt": [_turn("user", prompt)],
            "chosen": [_turn("assistant", chosen)],
            "rejected": [_turn("assistant", rejected)],
        }
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def file_format_of(path: str | Path, given: str | None = None) -> FileFormat:
    """The file format named by `given`, else by the path's suffix (.jsonl, .parquet)."""
    if given is not None:
        if given not in FILE_FORMATS:
            raise ConfigError(
                f"file format '{given}' is unknown: use one of {', '.join(FILE_FORMATS)}"
            )
        return given
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise InputError(
            "cannot tell the file format from the name: end it in .jsonl or .parquet",
            path=str(path),
        )
    return found


def check_new(path: str | Path, overwrite: bool = False) -> None:
    """Refuse to replace an existing file unless `overwrite` (CLI: --force; TUI: asks)."""
    file = Path(path)
    if file.exists() and not overwrite:
        raise InputError(
            "already exists: choose another output path, or overwrite it with --force",
            path=str(file),
        )
    if not file.parent.is_dir():
        raise InputError(f"folder {file.parent} does not exist", path=str(file))


@dataclass(frozen=True)
class WrittenFile:
    """A finished dataset file: where, what format, how many records, its sha256."""

    path: Path
    file_format: FileFormat
    rows: int
    sha256: str


class DatasetWriter:
    """Streams records to a JSONL or Parquet file; `commit()` moves it into place.

    Leaving the `with` block on an exception keeps only the `.part` file, so a reader never
    sees half a dataset. Parquet is written in row groups of `batch` records; its schema is
    taken from the first group (pass `schema`, a `pyarrow.Schema`, when a column can be
    all-null at first).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        file_format: str | None = None,
        overwrite: bool = False,
        schema: Any = None,
        batch: int = _PARQUET_BATCH,
    ) -> None:
        self.path = Path(path)
        self.file_format = file_format_of(self.path, file_format)
        check_new(self.path, overwrite)
        self.rows = 0
        self._jsonl: JsonlWriter | None = None
        self._pending: list[dict[str, Any]] = []
        self._parquet: Any = None
        self._schema = schema
        self._batch = batch
        self.part = self.path.with_name(self.path.name + ".part")
        if self.file_format == "jsonl":
            self._jsonl = JsonlWriter(self.path)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        self.rows += 1
        if self._jsonl is not None:
            self._jsonl.write(record)
            return
        self._pending.append(record)
        if len(self._pending) >= self._batch:
            self._flush_parquet()

    def write_all(self, records: Iterable[dict[str, Any]]) -> int:
        """Append every record; returns the total written so far."""
        for record in records:
            self.write(record)
        return self.rows

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._pending:
            return
        table = pa.Table.from_pylist(self._pending, schema=self._schema)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(str(self.part), self._schema)
        self._parquet.write_table(table)
        self._pending = []

    def commit(self) -> WrittenFile:
        """Finish the file, move it into place and hash it."""
        if self._jsonl is not None:
            self._jsonl.commit()
        else:
            self._flush_parquet()
            if self._parquet is None:  # no records: an empty file with the given schema
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({}, schema=self._schema), str(self.part))
            else:
                self._parquet.close()
                self._parquet = None
            os.replace(self.part, self.path)
        return WrittenFile(self.path, self.file_format, self.rows, file_sha256(self.path))

    def close_partial(self) -> None:
        """Stop without publishing: only the `.part` file remains."""
        if self._jsonl is not None:
            self._jsonl.__exit__(RuntimeError, None, None)
        elif self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.close_partial()


def write_dataset(
    path: str | Path,
    records: Iterable[dict[str, Any]],
    *,
    file_format: str | None = None,
    overwrite: bool = False,
) -> WrittenFile:
    """Write every record to `path` (format from the suffix unless given), atomically."""
    writer = DatasetWriter(path, file_format=file_format, overwrite=overwrite)
    with writer:
        writer.write_all(records)
    return writer.commit()
