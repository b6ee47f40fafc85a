"""Splitting a solution trace into steps for per-step DPO (Setlur et al. 2024, section 5).

The paper splits GSM8K solutions at lines and MATH solutions at sentences or lines, merging
fragments under ~20 characters, with at most ~9 steps. We do the same, with one departure:
`auto` picks the split per trace (sentences when the trace is LaTeX-heavy or one paragraph,
lines otherwise) instead of per dataset, because a synthetic set mixes GSM8K-style and
MATH-style problems. Steps keep their character offsets, so a prefix is exactly
`text[:steps[i].end]` and the TUI can colour each step where it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config.schema import STEP_SPLITS
from pipeline.errors import ConfigError

SPLIT_MODES = STEP_SPLITS  # auto | lines | sentences, named once with the config

# Inline and display maths: a sentence or line boundary inside one is not a step boundary.
_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)|\$[^$\n]+?\$", re.DOTALL)
# A sentence ends at . ! or ? followed by whitespace (so 3.5 and x.y are never cut).
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_LATEX_COMMAND = re.compile(r"\\(?!boxed\b)[A-Za-z]+|\$")
LATEX_HEAVY = 3  # LaTeX commands or $ signs (\boxed not counted) that make a trace LaTeX-heavy


@dataclass(frozen=True)
class Step:
    """One step: `text == trace[start:end]` (no surrounding whitespace), `index` 1-based."""

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SplitRule:
    """How traces are cut into steps.

    Attributes:
        mode: "lines" (GSM8K-style), "sentences" (LaTeX-heavy: sentences and lines,
            short fragments merged, capped), or "auto" (chosen per trace).
        min_chars: sentences mode: a fragment shorter than this joins its neighbour.
        max_steps: sentences mode: adjacent steps are merged until at most this many.
        max_line_steps: lines mode: the same cap (None: one step per line, as the paper).
    """

    mode: str = "auto"
    min_chars: int = 20
    max_steps: int | None = 9
    max_line_steps: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in SPLIT_MODES:
            raise ConfigError(f"step split '{self.mode}' is unknown: use {', '.join(SPLIT_MODES)}")
        for name in ("max_steps", "max_line_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"step split {name} must be >= 1 (or unset), got {value}")


def is_latex_heavy(text: str) -> bool:
    """Whether a trace reads as MATH-style (LaTeX maths) rather than GSM8K-style lines."""
    return len(_LATEX_COMMAND.findall(text)) >= LATEX_HEAVY


def resolve_mode(text: str, rule: SplitRule) -> str:
    """The split a trace gets: the rule's mode, or for `auto` one chosen from the text."""
    if rule.mode != "auto":
        return rule.mode
    lines = [line for line in text.splitlines() if line.strip()]
    return "sentences" if len(lines) <= 1 or is_latex_heavy(text) else "lines"


def split_steps(text: str, rule: SplitRule = SplitRule()) -> list[Step]:
    """The steps of `text` under `rule` (an empty or blank text has none)."""
    mode = resolve_mode(text, rule)
    if mode == "lines":
        spans = _trimmed(text, _line_cuts(text, set()))
        return _steps(text, _cap(text, spans, rule.max_line_steps))
    masked = _math_spans(text)
    cuts = _line_cuts(text, masked)
    cuts |= {m.end() for m in _SENTENCE_END.finditer(text) if m.start() not in masked}
    spans = _merge_short(_trimmed(text, cuts), rule.min_chars)
    return _steps(text, _cap(text, spans, rule.max_steps))


def _math_spans(text: str) -> set[int]:
    inside: set[int] = set()
    for match in _MATH.finditer(text):
        inside.update(range(match.start(), match.end()))
    return inside


def _line_cuts(text: str, masked: set[int]) -> set[int]:
    return {i for i, char in enumerate(text) if char == "\n" and i not in masked}


def _trimmed(text: str, cuts: set[int]) -> list[tuple[int, int]]:
    """The pieces between cut positions, without surrounding whitespace; blanks dropped."""
    bounds = [0, *sorted(cuts), len(text)]
    spans = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _merge_short(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Fragments under `min_chars` join the step before them (the first joins the next)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (end - start < min_chars or merged[-1][1] - merged[-1][0] < min_chars):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _cap(text: str, spans: list[tuple[int, int]], limit: int | None) -> list[tuple[int, int]]:
    """Merge the adjacent pair with the shortest joint text until at most `limit` remain."""
    spans = list(spans)
    while limit is not None and len(spans) > limit:
        joint = [spans[i + 1][1] - spans[i][0] for i in range(len(spans) - 1)]
        i = joint.index(min(joint))
        spans[i : i + 2] = [(spans[i][0], spans[i + 1][1])]
    return spans


def _steps(text: str, spans: list[tuple[int, int]]) -> list[Step]:
    return [Step(n, start, end, text[start:end]) for n, (start, end) in enumerate(spans, 1)]


def prefix_text(text: str, steps: list[Step], count: int) -> str:
    """The trace through its first `count` steps (count 0: empty)."""
    return text[: steps[count - 1].end] if count > 0 else ""
