"""Importing a seed source into a seed set, all or nothing, idempotent by content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.seeds.fields import FieldMap, detect_fields, map_record
from pipeline.seeds.sources import read_source
from storage.database import transaction
from storage.seeds import SeedRow, ensure_seed_set, insert_seeds

BATCH = 5_000


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    name: str
    source: str
    rows: int
    added: int
    skipped: int
    with_answer: int
    fields: FieldMap


def content_hash(question: str, answer: str | None) -> str:
    """Identity of a seed: the same question and answer import once per set."""
    payload = question.strip() + "\x1f" + (answer or "").strip()
    # 128 bits is ample for identity within a set and keeps the unique index small.
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def import_seeds(
    db: Database,
    source: str,
    name: str,
    *,
    question_field: str | None = None,
    answer_field: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Read `source` and add its problems to seed set `name` in one transaction.

    Any bad record aborts the whole import with an `InputError` naming file, line and
    field, and leaves the database exactly as it was.
    """
    if not name or not name.strip():
        raise InputError("--name must not be empty")
    label = source
    records = read_source(source)
    rows = added = with_answer = 0
    fields: FieldMap | None = None
    batch: list[SeedRow] = []
    with transaction(db):
        set_id: int | None = None
        for line, record in records:
            if fields is None:
                fields = detect_fields(
                    record, question_field=question_field, answer_field=answer_field, source=label
                )
                set_id = ensure_seed_set(db, name.strip(), source, fields.question, fields.answer)
            assert set_id is not None
            seed = map_record(record, fields, source=label, line=line)
            rows += 1
            if seed.answer is not None:
                with_answer += 1
            meta = json.dumps(seed.meta, ensure_ascii=False, default=str) if seed.meta else "{}"
            batch.append(
                (
                    set_id,
                    line,
                    seed.question,
                    seed.answer,
                    seed.solution,
                    meta,
                    content_hash(seed.question, seed.answer),
                )
            )
            if len(batch) >= BATCH:
                added += insert_seeds(db, batch)
                batch.clear()
                if on_progress is not None:
                    on_progress(rows)
        if batch:
            added += insert_seeds(db, batch)
        if on_progress is not None:
            on_progress(rows)
    if fields is None:
        raise InputError("no records to import", path=label)
    return ImportReport(
        name=name.strip(),
        source=source,
        rows=rows,
        added=added,
        skipped=rows - added,
        with_answer=with_answer,
        fields=fields,
    )
