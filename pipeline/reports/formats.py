"""The results table as text: an aligned table, Markdown, CSV, LaTeX or JSON.

Accuracies and deltas are in percent with one decimal; a delta carries its significance
mark (`*` p < 0.05, `**` p < 0.01, paired bootstrap). CSV is long (one line per row and
benchmark, the average as benchmark `average`) with the interval and p-value in full.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from pipeline.reports.results import Average, Cell, ResultsTable, Row

FORMATS = ("table", "markdown", "csv", "latex", "json")
AVERAGE = "average"


def render(table: ResultsTable, fmt: str) -> str:
    """The table in format `fmt` (one of FORMATS)."""
    renderers: dict[str, Callable[[ResultsTable], str]] = {
        "table": _plain,
        "markdown": _markdown,
        "csv": _csv,
        "latex": _latex,
        "json": lambda t: json.dumps(t.as_json(), indent=2, ensure_ascii=False),
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    return renderers[fmt](table)


def cell_text(cell: Cell | Average | None, *, mark: Callable[[str], str] = str) -> str:
    """`45.2 (+3.1*)`: accuracy and, where there is one, the delta with its mark."""
    if cell is None:
        return "-"
    text = f"{100 * cell.accuracy:.1f}"
    if cell.delta is not None:
        text += f" ({100 * cell.delta:+.1f}{mark(cell.mark) if cell.mark else ''})"
    return text


def _label(row: Row, table: ResultsTable) -> str:
    tag = " [ref]" if table.reference == row.label else ""
    return row.label + tag


def _grid(table: ResultsTable, mark: Callable[[str], str] = str) -> list[list[str]]:
    header = ["arm", *table.benchmarks, AVERAGE]
    lines = [header]
    for row in table.rows:
        cells = [cell_text(row.cells.get(b), mark=mark) for b in table.benchmarks]
        lines.append([_label(row, table), *cells, cell_text(row.average, mark=mark)])
    return lines


def _caption(table: ResultsTable) -> str:
    reference = table.reference or "none (no baseline arm, no base student)"
    return (
        f"{table.experiment}: accuracy % (delta vs {reference}; paired bootstrap over "
        f"items, {table.resamples} resamples: * p<0.05, ** p<0.01)"
    )


def _plain(table: ResultsTable) -> str:
    if not table.rows:
        return f"{table.experiment}: no evaluations yet (flames eval --experiment ...)"
    grid = _grid(table)
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    out = [_caption(table)]
    for number, line in enumerate(grid):
        out.append("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)))
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(text.rstrip() for text in out)


def _markdown(table: ResultsTable) -> str:
    grid = _grid(table)
    out = [f"_{_caption(table)}_", ""]
    out.append("| " + " | ".join(grid[0]) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(grid[0]) - 1)) + "|")
    out.extend("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in grid[1:])
    return "\n".join(out)


def _csv(table: ResultsTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "arm",
            "role",
            "checkpoint",
            "selection",
            "benchmark",
            "n",
            "correct",
            "accuracy",
            "ci95_low",
            "ci95_high",
            "delta",
            "p",
            "mark",
            "paired",
        ]
    )
    for row in table.rows:
        lead = [row.arm, row.role, row.checkpoint or "", row.selection]
        for name in table.benchmarks:
            cell = row.cells.get(name)
            if cell is None:
                continue
            writer.writerow(
                [
                    *lead,
                    name,
                    cell.n,
                    cell.correct,
                    f"{cell.accuracy:.6f}",
                    f"{cell.ci95[0]:.6f}",
                    f"{cell.ci95[1]:.6f}",
                    "" if cell.delta is None else f"{cell.delta:.6f}",
                    "" if cell.p is None else f"{cell.p:.6f}",
                    cell.mark,
                    cell.paired,
                ]
            )
        if row.average is not None:
            avg = row.average
            writer.writerow(
                [
                    *lead,
                    AVERAGE,
                    "",
                    "",
                    f"{avg.accuracy:.6f}",
                    f"{avg.ci95[0]:.6f}",
                    f"{avg.ci95[1]:.6f}",
                    "" if avg.delta is None else f"{avg.delta:.6f}",
                    "" if avg.p is None else f"{avg.p:.6f}",
                    avg.mark,
                    "",
                ]
            )
    return buffer.getvalue().rstrip("\n")


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"}


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def _latex(table: ResultsTable) -> str:
    grid = _grid(table, mark=lambda m: f"$^{{{m}}}$")
    columns = "l" + "r" * (len(grid[0]) - 1)
    out = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\begin{{tabular}}{{{columns}}}",
        "\\toprule",
        " & ".join(_tex(c) for c in grid[0]) + " \\\\",
        "\\midrule",
    ]
    for line in grid[1:]:
        cells = [_tex(line[0])] + [c.replace("%", "\\%") for c in line[1:]]
        out.append(" & ".join(cells) + " \\\\")
    out += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{_tex(_caption(table))}}}",
        "\\end{table}",
    ]
    return "\n".join(out)
