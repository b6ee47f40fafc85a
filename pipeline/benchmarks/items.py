"""Benchmark rows -> items: question, gold answer, subject, level and subset, row by row.

The field names and the answer normalisation are the seed importer's
(`pipeline.seeds.fields`): one definition of "which field is the question" and "what the
final answer of `#### 72`, `27.0`, `9 (apples)` or `["$2n$"]` is". Unlike the importer,
which detects the mapping from the first record, the mapping here is chosen per layout
(the set of keys of a row), because real files mix layouts: a merged benchmark file with
`question` rows and `problem` rows, or Hub rows where an optional field is absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import InputError
from pipeline.seeds.fields import (
    ANSWER_FIELDS,
    CONTEXT_FIELDS,
    QUESTION_FIELDS,
    SOLUTION_FIELDS,
    FieldMap,
    map_record,
)

# Fields that name an item, in the order they are tried (else the 1-based row number).
ID_FIELDS = ("id", "unique_id", "ID", "idx", "question_number")


@dataclass(frozen=True)
class BenchItem:
    """One benchmark problem.

    `item` is the benchmark's own id (else the 1-based line); `index` is its 0-based
    position in the benchmark (after any subset filter), the key that pairs the same item
    across two evaluations. `gold` is the normalised final answer (None: the row has none).
    """

    benchmark: str
    item: Any
    text: str
    gold: str | None = None
    gold_rule: str = "none"  # hash | field | boxed | none
    subject: str | None = None
    level: str | None = None
    subset: str | None = None
    index: int = 0


@dataclass(frozen=True)
class Layout:
    """Which fields of a benchmark hold what; None or () means "detect from the row"."""

    question: tuple[str, ...] = ()
    answer: tuple[str, ...] = ()
    subject: str | None = None
    level: str | None = None
    subset: str | None = None
    subset_label: str = "subset"  # what reports call the subset ("type" for GSM-Plus)
    include: tuple[str, ...] = ()  # subset values kept (empty: every value)
    exclude: tuple[str, ...] = ()  # subset values dropped


class RowMapper:
    """Maps rows of one source to items, choosing the field map once per distinct layout."""

    def __init__(self, name: str, layout: Layout, where: str, *, need_gold: bool) -> None:
        self.name = name
        self.layout = layout
        self.where = where
        self.need_gold = need_gold
        self._maps: dict[frozenset[str], FieldMap] = {}

    def field_map(self, row: Mapping[str, Any], line: int) -> FieldMap:
        keys = frozenset(k for k, v in row.items() if v is not None)
        found = self._maps.get(keys)
        if found is None:
            found = self._maps[keys] = self._choose(keys, line)
        return found

    def _choose(self, keys: frozenset[str], line: int) -> FieldMap:
        question = _first(self.layout.question, keys) or _first(QUESTION_FIELDS, keys)
        if question is None:
            raise InputError(
                f"benchmark '{self.name}': no question field (looked for "
                f"{', '.join(self.layout.question or QUESTION_FIELDS)}; this row has "
                f"{_names(keys)})",
                path=self.where,
                line=line,
            )
        answer = _first(self.layout.answer, keys) or _first(
            tuple(n for n in ANSWER_FIELDS if n != question), keys
        )
        solution = _first(tuple(n for n in SOLUTION_FIELDS if n != answer), keys)
        if self.need_gold and answer is None and solution is None:
            raise InputError(
                f"benchmark '{self.name}': no answer field (looked for "
                f"{', '.join(self.layout.answer or ANSWER_FIELDS)} or a solution with "
                f"\\boxed{{}}; this row has {_names(keys)})",
                path=self.where,
                line=line,
            )
        context = _first(tuple(n for n in CONTEXT_FIELDS if n != question), keys)
        return FieldMap(question=question, context=context, answer=answer, solution=solution)

    def item(self, row: Mapping[str, Any], line: int, index: int) -> BenchItem | None:
        """The item of `row` (line = its 1-based row number), or None when its subset is out."""
        layout = self.layout
        subset = _label(row.get(layout.subset)) if layout.subset else None
        if layout.include and subset not in layout.include:
            return None
        if layout.exclude and subset in layout.exclude:
            return None
        fields = self.field_map(row, line)
        mapped = map_record(row, fields, source=self.where, line=line)
        gold = mapped.answer
        if self.need_gold and gold is None:
            raise InputError(
                f"benchmark '{self.name}': no gold answer in this row (answer field "
                f"'{fields.answer}', solution field '{fields.solution}')",
                path=self.where,
                line=line,
            )
        return BenchItem(
            benchmark=self.name,
            item=_item_id(row, line),
            text=mapped.question,
            gold=gold,
            gold_rule=_gold_rule(row, fields, gold),
            subject=_label(row.get(layout.subject)) if layout.subject else None,
            level=_level(row.get(layout.level)) if layout.level else None,
            subset=subset,
            index=index,
        )


def map_rows(
    name: str,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    layout: Layout,
    where: str,
    *,
    need_gold: bool,
) -> list[BenchItem]:
    """Items of (line, row) pairs: every row is an item (duplicates too), unless filtered out."""
    mapper = RowMapper(name, layout, where, need_gold=need_gold)
    items: list[BenchItem] = []
    for line, row in rows:
        item = mapper.item(row, line, len(items))
        if item is not None:
            items.append(item)
    return items


def _first(names: Iterable[str], keys: frozenset[str]) -> str | None:
    return next((name for name in names if name in keys), None)


def _gold_rule(row: Mapping[str, Any], fields: FieldMap, gold: str | None) -> str:
    if gold is None:
        return "none"
    raw = row.get(fields.answer) if fields.answer else None
    if raw is None:
        return "boxed"  # taken from the worked solution
    if isinstance(raw, str) and "####" in raw:
        return "hash"
    return "field"


def _item_id(row: Mapping[str, Any], line: int) -> Any:
    for name in ID_FIELDS:
        value = row.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return line


def _label(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _level(value: Any) -> str | None:
    """`Level 3` (MATH on the Hub), 3 (MATH-500) and "3" are the same level."""
    text = _label(value)
    if text is not None and text.lower().startswith("level "):
        text = text[6:].strip()
    return text


def _names(keys: Iterable[str]) -> str:
    shown = sorted(keys)
    return ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "") if shown else "no fields"
