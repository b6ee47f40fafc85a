"""A DataTable whose header row follows its columns' widths.

Textual (8.2) measures newly added rows when the table is idle and widens their columns, but
it caches each rendered row under a key (the table's update count, the cursor, the hover)
that widening does not change. A header painted between `add_row` and that measurement keeps
the old widths, so the headings sit out of line with their cells until the cursor moves or the
terminal is resized (the Seeds screen showed "seed set" two columns short of "gsm8k-mini").
Every table the screens fill from a worker's message is this one; the problem list is a
window of its own (`ProblemTable`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class Table(DataTable[Any]):
    """`DataTable`, repainted from scratch once a measurement changes a column's width."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._measured: tuple[int, ...] = ()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        widths = tuple(column.content_width for column in self.columns.values())
        if widths != self._measured:
            self._measured = widths
            # The update count is part of every row-cache key: a new one drops the rows
            # (the header among them) rendered at the old widths. Private to Textual, so
            # tests/tui/test_snapshots.py (Seeds) pins the result.
            self._update_count += 1
            self.refresh()
