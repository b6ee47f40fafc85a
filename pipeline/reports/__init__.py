"""Reports over stored results: the arms x benchmarks table and its text formats.

The TUI's Results screen and `flames results` both read from here.
"""

from pipeline.reports.formats import FORMATS, cell_text, render
from pipeline.reports.results import Average, Cell, ResultsTable, Row, breakdowns, results_table

__all__ = [
    "FORMATS",
    "Average",
    "Cell",
    "ResultsTable",
    "Row",
    "breakdowns",
    "cell_text",
    "render",
    "results_table",
]
