"""LaTeX in problems, solutions and model outputs, shown as readable Unicode (pylatexenc).

pylatexenc does the parsing and the symbol tables; this module only teaches it the macros
maths datasets use that it lacks (\\dfrac, \\boxed, \\binom, ...) and keeps plain prose
intact: a text without LaTeX is returned as it is, `%` is a percent sign (not a LaTeX
comment), and `$5` before a word is money, not the start of maths. The result is plain
text: callers show it as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

from pylatexenc import latex2text, latexwalker, macrospec

from pipeline.problems.browse import ProblemDetail

# Something that only LaTeX writes: a command, \( \[, or $...$ holding ^ _ { or \.
_LATEX_HINT = re.compile(r"\\[A-Za-z]+|\\[(\[]|\$[^$\n]*[\\^_{][^$\n]*\$")
# `$` + amount + word: money ("$5 and gets"), not maths.
_MONEY = re.compile(r"\$(?=\d[\d,.]*(?:\s+[A-Za-z]{2,}|[\s.,;:!?)]|$))")
_PERCENT = re.compile(r"(?<!\\)%")

# (name, argument spec for the parser, how the text converter writes it)
_MACROS: tuple[tuple[str, str, str], ...] = (
    ("dfrac", "{{", "%(1)s/%(2)s"),
    ("tfrac", "{{", "%(1)s/%(2)s"),
    ("binom", "{{", "C(%(1)s, %(2)s)"),
    ("boxed", "{", "⟦%(1)s⟧"),
    ("operatorname", "{", "%(1)s"),
    ("left", "", ""),
    ("right", "", ""),
    ("triangle", "", "△"),
)


@lru_cache(maxsize=1)
def _contexts() -> tuple[macrospec.LatexContextDb, latex2text.LatexNodes2Text]:
    """The parser's macro table and the text converter, both knowing `_MACROS`."""
    parse_db = latexwalker.get_default_latex_context_db()
    parse_db.add_context_category(
        "flames-maths",
        prepend=True,
        macros=[macrospec.MacroSpec(name, args) for name, args, _ in _MACROS],
    )
    text_db = latex2text.get_default_latex_context_db()
    text_db.add_context_category(
        "flames-maths",
        prepend=True,
        macros=[latex2text.MacroTextSpec(name, simplify_repl=repl) for name, _, repl in _MACROS],
    )
    return parse_db, latex2text.LatexNodes2Text(latex_context=text_db, math_mode="text")


def has_latex(text: str) -> bool:
    """Whether the text holds LaTeX worth rendering."""
    return bool(_LATEX_HINT.search(text))


@lru_cache(maxsize=4096)
def render_maths(text: str) -> str:
    """The text with its LaTeX written as Unicode; unchanged when it holds none."""
    if not has_latex(text):
        return text
    parse_db, converter = _contexts()
    source = _MONEY.sub(r"\\$", _PERCENT.sub(r"\\%", text))
    try:
        walker = latexwalker.LatexWalker(
            source,
            latex_context=parse_db,
            tolerant_parsing=True,
        )
        nodes, _, _ = walker.get_latex_nodes()
        rendered = converter.nodelist_to_text(nodes)
    except Exception:  # a parser failure must never hide the data: show it raw
        return text
    return _tidy(rendered)


def _tidy(text: str) -> str:
    """Trim the blank lines display maths leaves around itself."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line.strip() if not line.startswith("    ") else line[4:])
    return "\n".join(out).strip("\n")


def with_maths(detail: ProblemDetail) -> ProblemDetail:
    """A problem's detail with its text, seed and solutions rendered (for the inspector)."""
    seed = detail.seed
    if seed is not None and seed.get("question"):
        seed = {**seed, "question": render_maths(str(seed["question"]))}
    return dataclasses.replace(
        detail,
        problem={**detail.problem, "text": render_maths(str(detail.problem.get("text") or ""))},
        seed=seed,
        solutions=[{**s, "text": render_maths(str(s.get("text") or ""))} for s in detail.solutions],
    )
