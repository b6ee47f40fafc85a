"""Rejection-sampling fine-tuning data (RFT; Setlur et al. 2024, after Yuan et al. 2023).

From M student samples per problem, keep those whose final answer is verified right, drop
exact and normalised duplicates, keep up to R per problem, and fine-tune on them (from the
base model or continuing the SFT student: `training.rft_start`, recorded in the card).

Traces cut at the token limit are dropped: a right answer inside an unfinished solution is
not a solution to imitate. "Normalised" means Unicode NFKC, case folded, whitespace
collapsed and LaTeX spacing commands removed; unlike the near-duplicate text key
(`pipeline.dedup.text`), operators and punctuation are kept, since "3+4" and "3*4" are
different solutions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.selection.policy import is_truncated
from storage.traces import TraceRow

_LATEX_SPACE = re.compile(r"\\[,;:! ]|\\q?quad\b|\\(?:left|right)\b")
_WHITESPACE = re.compile(r"\s+")


def normalised_trace(text: str) -> str:
    """The duplicate key of a trace: formatting differences folded, content kept."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", _LATEX_SPACE.sub(" ", folded)).strip()


@dataclass(frozen=True)
class RftSelection:
    """The traces RFT trains on, and how many were left out for each reason."""

    kept: list[TraceRow]
    skipped: dict[str, int]
    problems: int  # problems with at least one kept trace


def select_rft(
    traces: Iterable[TraceRow], keep: int, *, drop_truncated: bool = True
) -> RftSelection:
    """Correct, distinct traces, up to `keep` per problem, in sample order."""
    by_item: dict[str, list[TraceRow]] = {}
    for trace in traces:
        by_item.setdefault(trace.item, []).append(trace)
    kept: list[TraceRow] = []
    skipped = dict.fromkeys(
        (
            "incorrect",
            "unverifiable",
            "truncated",
            "exact_duplicate",
            "normalised_duplicate",
            "over_limit",
        ),
        0,
    )
    problems = 0
    for rows in by_item.values():
        chosen = _choose(sorted(rows, key=lambda t: t.sample_index), keep, drop_truncated, skipped)
        kept += chosen
        problems += bool(chosen)
    return RftSelection(kept, {k: v for k, v in skipped.items() if v}, problems)


def _choose(
    rows: Sequence[TraceRow], keep: int, drop_truncated: bool, skipped: dict[str, int]
) -> list[TraceRow]:
    chosen: list[TraceRow] = []
    texts: set[str] = set()
    keys: set[str] = set()
    for trace in rows:
        if trace.label is None:
            skipped["unverifiable"] += 1
        elif trace.label == 0:
            skipped["incorrect"] += 1
        elif drop_truncated and is_truncated(trace.finish_reason):
            skipped["truncated"] += 1
        elif trace.text in texts:
            skipped["exact_duplicate"] += 1
        elif normalised_trace(trace.text) in keys:
            skipped["normalised_duplicate"] += 1
        elif len(chosen) >= keep:
            skipped["over_limit"] += 1
        else:
            texts.add(trace.text)
            keys.add(normalised_trace(trace.text))
            chosen.append(trace)
    return chosen
