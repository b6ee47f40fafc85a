"""Word-level differences between two near-duplicate problems, for side-by-side views."""

from __future__ import annotations

import difflib


def word_diff(left: str, right: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both texts as (word, differs) pairs, so a view can highlight what changed."""
    a, b = left.split(), right.split()
    out_a: list[tuple[str, bool]] = []
    out_b: list[tuple[str, bool]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        out_a.extend((w, not same) for w in a[i1:i2])
        out_b.extend((w, not same) for w in b[j1:j2])
    return out_a, out_b
