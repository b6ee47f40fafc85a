"""Importing a seed source into a seed set: all or nothing, in short batches, idempotent.

The source is read and parsed outside any transaction (for `hf:` ids, the download too),
and rows are committed a batch at a time into a staging set that nobody sees (status
'importing', a hidden name). The last step, one short transaction, gives the staging set
its name (or, with `--append`, moves its new rows into the existing set). So an import of
millions of rows never holds the workspace's write lock for more than a batch, and a bad
record, an interrupt or a crash leaves the workspace as it was: the staging set is deleted
(by this import, or by the next import under the same name when this one was killed).

Like every stage, an import runs under its stage lock ("seeds import" on the set's name,
`pipeline.jobs.locks.stage_lock`), taken by the caller (the CLI, the TUI): under it, a
staging set left for the same name can only be an abandoned one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.seeds.fields import FieldMap, detect_fields, map_record
from pipeline.seeds.sources import read_source
from pipeline.values import name_problem
from storage.database import transaction
from storage.seeds import (
    SeedRow,
    create_staging_set,
    delete_set_in_batches,
    importing_sets,
    insert_seeds,
    merge_set,
    publish_set,
    seed_set_info,
)

BATCH = 20_000  # rows per committed batch: well under a second of write lock
# Staging names start with a character no user name may hold (see `name_problem`).
_HIDDEN = "\x00importing "
IMPORT_LOCK = "seeds import"  # the stage lock an import runs under, per seed set name


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
    appended: bool = False


def content_hash(question: str, answer: str | None) -> str:
    """Identity of a seed: the same question and answer import once per set."""
    payload = question.strip() + "\x1f" + (answer or "").strip()
    # 128 bits is ample for identity within a set and keeps the unique index small.
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def check_set_name(name: str) -> str:
    """The seed set name as stored (stripped), or an InputError saying what is wrong."""
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"--name {problem}")
    return name.strip()


def import_seeds(
    db: Database,
    source: str,
    name: str,
    *,
    question_field: str | None = None,
    answer_field: str | None = None,
    append: bool = False,
    progress: Reporter = ignore,
) -> ImportReport:
    """Read `source` into a new seed set `name` (or, with `append`, add to an existing one).

    Any bad record aborts the whole import with an `InputError` naming file, line and
    field, and leaves the database exactly as it was. A name already in use is refused
    unless `append` is set.
    """
    name = check_set_name(name)
    existing = seed_set_info(db, name)
    if existing is not None and not append:
        raise InputError(
            f"seed set '{name}' already exists ({existing[2]:,} seeds from {existing[1]}); "
            "add --append to add these seeds to it, or choose another --name"
        )
    _drop_abandoned(db, name)
    staging = _Staging(db, source, name)
    try:
        report = _fill(staging, source, name, question_field, answer_field, progress)
        return _finish(db, staging, report, existing[0] if existing else None)
    except BaseException:
        staging.discard()
        raise


def staging_prefix(name: str) -> str:
    """The start of the hidden name of every staging set bound for seed set `name`."""
    return f"{_HIDDEN}{name}\x00"


class _Staging:
    """The invisible set an import fills; created once the fields are known."""

    def __init__(self, db: Database, source: str, name: str) -> None:
        self.db = db
        self.source = source
        self.name = name
        self.set_id: int | None = None

    def create(self, fields: FieldMap) -> int:
        hidden = staging_prefix(self.name) + secrets.token_hex(8)
        with transaction(self.db):
            self.set_id = create_staging_set(
                self.db, hidden, self.source, fields.question, fields.answer
            )
        return self.set_id

    def discard(self) -> None:
        if self.set_id is not None:
            delete_set_in_batches(self.db, self.set_id)
            self.set_id = None


def _fill(
    staging: _Staging,
    source: str,
    name: str,
    question_field: str | None,
    answer_field: str | None,
    progress: Reporter,
) -> ImportReport:
    """Read, parse and stage every record, committing a batch at a time."""
    db = staging.db
    rows = added = with_answer = 0
    fields: FieldMap | None = None
    set_id = 0
    batch: list[SeedRow] = []
    progress(ProgressEvent("seeds import", 0, None, f"reading {source}"))
    for line, record in read_source(source):
        if fields is None:
            fields = detect_fields(
                record, question_field=question_field, answer_field=answer_field, source=source
            )
            set_id = staging.create(fields)
        seed = map_record(record, fields, source=source, line=line)
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
            added += _commit(db, batch)
            progress(ProgressEvent("seeds import", rows, None, f"{added:,} new"))
    if fields is None:
        raise InputError("no records to import", path=source)
    added += _commit(db, batch)
    progress(ProgressEvent("seeds import", rows, rows, f"{added:,} new"))
    return ImportReport(
        name=name,
        source=source,
        rows=rows,
        added=added,
        skipped=rows - added,
        with_answer=with_answer,
        fields=fields,
    )


def _commit(db: Database, batch: list[SeedRow]) -> int:
    if not batch:
        return 0
    with transaction(db):
        added = insert_seeds(db, batch)
    batch.clear()
    return added


def _finish(
    db: Database, staging: _Staging, report: ImportReport, target: int | None
) -> ImportReport:
    """Make the staged rows visible in one short transaction."""
    assert staging.set_id is not None
    with transaction(db):
        if target is not None:
            added = merge_set(db, staging.set_id, target, report.source)
            staging.set_id = None
            return ImportReport(
                name=report.name,
                source=report.source,
                rows=report.rows,
                added=added,
                skipped=report.rows - added,
                with_answer=report.with_answer,
                fields=report.fields,
                appended=True,
            )
        if not publish_set(db, staging.set_id, report.name):
            raise InputError(
                f"seed set '{report.name}' was created by another import meanwhile (or this "
                "import's staging rows were removed); import again, with --append to add to it"
            )
    staging.set_id = None
    return report


def _drop_abandoned(db: Database, name: str) -> None:
    """Delete staging sets an import of `name` left behind when it was killed."""
    prefix = staging_prefix(name)
    for set_id, hidden in importing_sets(db):
        if hidden.startswith(prefix):
            delete_set_in_batches(db, set_id)
