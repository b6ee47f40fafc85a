"""Final-answer extraction from a model output or a reference solution.

Rules are tried in a fixed order and the one that fired is returned with the answer,
so a changed rule can be audited and re-run over stored raw text:
`boxed` (last `\\boxed{}` / `\\fbox{}`), `boxed_set` (several boxes joined only by
commas, "and", "or" or `x =`: one answer per root or coordinate, kept together as a list),
`hash` (GSM8K `#### N`), `the_answer_is` ("the answer is ...", "Final answer: ..."),
`bare` (the text is itself a short answer, or one LaTeX environment / display block),
`last_latex` (the last `$...$` span, unless a number follows it), `last_number` (optional
fallback), `prose` (an answer cue followed by words, not maths: no answer), `none`.
References also have `qualified`: a gold that opens with its answer and then qualifies it
("$(2-t, t)$ for all real numbers $t$", CollegeMath's style) is that first span, not the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULES = (
    "boxed",
    "boxed_set",
    "hash",
    "the_answer_is",
    "bare",
    "last_latex",
    "last_number",
    "prose",
    "none",
    "qualified",
)

# Text longer than this is cut to its tail before the regex rules run: final answers
# live at the end, and a bound keeps every rule linear on megabyte inputs.
MAX_SCAN_CHARS = 20_000
MAX_ANSWER_CHARS = 1_000
# The last-span rule looks only at the end of the text, where a final answer sits.
LAST_MATH_CHARS = 4_000

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*(\{|[^\s{])")
_HASH_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS_RE = re.compile(
    r"(?:(?:the\s+)?final\s+answer(?:\s+is)?|the\s+answer\s+is|\banswer(?=\s*[:：]))"
    r"\s*[:：]?\s*",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"(?<![A-Za-z_\d.])(?:-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+)")
_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_MATH_SPAN_RE = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$((?:\\\$|[^$\n])+?)(?<!\\)\$", re.DOTALL
)
_LATEX_CMD_RE = re.compile(r"\\[a-zA-Z]+\*?(?:\{[a-zA-Z*]*\})?")
# What may stand between two boxes that answer together: "$\\boxed{2}$ and $x = \\boxed{3}$".
_BOX_GAP_RE = re.compile(
    r"[\s$,;]*(?:(?:and|or|\\text\{\s*(?:and|or)\s*\}|\\q?quad)[\s$,;]*)?"
    r"(?:[A-Za-z](?:_\{?\w+\}?)?\s*=\s*)?[\s$]*"
)
# A whole answer that is one LaTeX environment (a matrix, cases) or one display block.
_ENVIRONMENT_RE = re.compile(r"\s*\\begin\{([a-zA-Z]+\*?)\}.*\\end\{\1\}\s*", re.DOTALL)
_DISPLAY_RE = re.compile(r"\s*(?:\$\$(?P<a>[^$]+)\$\$|\\\[(?P<b>.+?)\\\])\s*", re.DOTALL)
# Words of prose: letters outside math spans and outside \\text{...}-like arguments.
_TEXT_ARG_RE = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|operatorname)\s*\{[^{}]*\}")
_PROSE_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_MATHY_RE = re.compile(r"[\d\\=+\-*/^<>(){}\[\]|]")
_CHOICE_RE = re.compile(r"\(?[A-Ea-e]\)?")
# A plain number ("42", "-3.5", "1,000"): most golds and `#### N` tails; settled at once.
_PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


@dataclass(frozen=True)
class Extraction:
    """An extracted final answer (None when no rule fired) and the rule that produced it."""

    answer: str | None
    rule: str


def _closing_brace(text: str, start: int) -> int | None:
    """Index of the `}` that closes the `{` at `start` (escaped `\\{` `\\}` skipped), or None.

    Scans only the box's own argument, not the whole output: most outputs have one box."""
    depth = 0
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _closing_braces(text: str) -> dict[int, int]:
    """Index of each `{` -> index of its matching `}` (escaped `\\{` `\\}` skipped), in one pass."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
    return pairs


# Up to this many boxes, each is closed by scanning its own argument; past it, one pass over
# the whole text maps every brace (a hostile reply with thousands of unclosed boxes stays linear).
_BOXES_SCANNED_ALONE = 4


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every non-empty box, in order."""
    found: list[tuple[int, int, str]] = []
    matches = list(_BOX_RE.finditer(text))
    closing = _closing_braces(text) if len(matches) > _BOXES_SCANNED_ALONE else None
    for match in matches:
        if match.group(1) == "{":
            end = (
                closing.get(match.start(1))
                if closing is not None
                else _closing_brace(text, match.start(1))
            )
            if end is not None:
                found.append((match.start(), end + 1, text[match.start(1) + 1 : end].strip()))
        else:
            # `\\boxed 5` form: the argument runs to the next space, `$` or end.
            arg = re.match(r"[^\s$]+", text[match.start(1) : match.start(1) + 200])
            if arg:
                found.append((match.start(), match.start(1) + arg.end(), arg.group(0).rstrip(".,")))
    return [box for box in found if box[2]]


def boxed_answers(text: str) -> list[str]:
    """Every `\\boxed{...}` / `\\fbox{...}` / `\\boxed x` content, in order, nested braces kept."""
    return [content for _, _, content in _boxes(text)]


def _final_boxes(text: str) -> list[str]:
    """The last box and the boxes right before it that answer together with it.

    "$x = \\boxed{2}$ or $x = \\boxed{3}$" is one answer with two roots; "first \\boxed{3},
    then corrected: \\boxed{4}" is a correction, so only the last box counts.
    """
    boxes = _boxes(text)
    if not boxes:
        return []
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if _BOX_GAP_RE.fullmatch(text[box[1] : group[0][0]]) is None:
            break
        group.insert(0, box)
    return [content for _, _, content in group]


def _clean_tail(answer: str) -> str:
    """Trim sentence punctuation, math delimiters and wrapping from a phrase-level answer."""
    answer = answer.strip()
    if _PLAIN_NUMBER_RE.fullmatch(answer):
        return answer
    boxes = _final_boxes(answer)
    if boxes:
        return ", ".join(boxes)
    answer = re.sub(r"^\*+|\*+$", "", answer).strip()
    if answer.count("$") == 1 and re.match(r"^\\?\$\s*\d", answer):
        answer = answer.replace("\\$", "").replace("$", "").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if (
            answer.startswith(left)
            and answer.endswith(right)
            and len(answer) > len(left) + len(right)
        ):
            answer = answer[len(left) : -len(right)].strip()
            break
    else:
        inner = re.match(r"^\$([^$]+)\$", answer)
        if inner:
            answer = inner.group(1).strip()
    answer = answer.rstrip(" .;:,").strip()
    # A final "!" ends a sentence, unless it is a factorial ("5!", "(n+1)!").
    while answer.endswith("!") and not re.search(r"[\d)}\]]!$", answer):
        answer = answer[:-1].rstrip(" .;:,")
    return answer


PROSE = "\x00prose"  # what `_answer_phrase` returns for words that are not an answer


def prose_words(text: str) -> int:
    """Words of running text: letters outside math spans and outside `\\text{}` arguments."""
    outside = _MATH_SPAN_RE.sub(" ", _TEXT_ARG_RE.sub(" ", text))
    return len(_PROSE_WORD_RE.findall(_LATEX_CMD_RE.sub(" ", outside)))


def looks_like_answer(phrase: str) -> bool:
    """A number, an expression, a set, an interval, a choice letter or a short text answer
    ("Yes", "Monday", "no solution"); False for prose such as "to the total cost"."""
    if _MATHY_RE.search(phrase) or _CHOICE_RE.fullmatch(phrase.strip()):
        return True
    return prose_words(phrase) <= 2


def _answer_phrase(text: str) -> str | None:
    """What follows the last "the answer is" / "Final answer:" cue, up to the line end.

    `PROSE` when it is words and no maths (the cue started a sentence, not an answer).
    """
    # Search backwards from the last "answer" so long outputs are not scanned in full.
    lower = text.lower()
    end = len(lower)
    last = None
    while last is None:
        index = lower.rfind("answer", 0, end)
        if index < 0:
            return None
        window_start = max(0, index - 24)
        matches = list(_ANSWER_IS_RE.finditer(text, window_start, index + 40))
        last = matches[-1] if matches else None
        end = index
    rest = text[last.end() :]
    line = rest.split("\n", 1)[0]
    if not line.strip() and "\n" in rest:
        line = rest.lstrip("\n").split("\n", 1)[0]
    # "The answer is 18. She ..." -> keep only the first sentence unless it is maths.
    sentence = re.split(r"\.\s+(?=[A-Z])", line, maxsplit=1)[0]
    cleaned = _clean_tail(sentence)
    if cleaned and not _looks_bare(cleaned, 200, 3):
        # "Final Answer: The volume of $ABCD$ is 120" -> the maths inside the prose.
        inner = _last_math(cleaned)
        if inner is not None:
            return inner[0]
    if cleaned and not looks_like_answer(cleaned):
        return PROSE
    return cleaned or None


def _is_prose(span: str) -> bool:
    """A `$...$` span that is really text between two dollar amounts ("$5 and $")."""
    return len(_WORD_RE.findall(_LATEX_CMD_RE.sub(" ", span))) > 2 or bool(
        re.fullmatch(r"\s*\d[\d,.]*\s+[a-zA-Z]{2,}.*", span)
    )


def _last_math(text: str) -> tuple[str, str] | None:
    """The later of the last math span (`$...$`, `\\(...\\)`, `\\[...\\]`) and the last number.

    A number inside that span belongs to it; a number after it (prose like "... is 12.")
    is the answer, as math-verify also decides by position.
    """
    span = None
    for match in _MATH_SPAN_RE.finditer(text):
        content = next(g for g in match.groups() if g is not None)
        if content.strip() and not _is_prose(content):
            span = (match.start(), match.end(), content.strip())
    numbers = list(_NUMBER_RE.finditer(text))
    number = numbers[-1] if numbers else None
    if span is not None and (number is None or number.start() < span[1]):
        return _clean_tail(span[2]), "last_latex"
    if number is not None:
        return number.group(0).rstrip(","), "last_number"
    return None


# One inline math span, `$...$` (not `$$`; `\$` inside is a dollar sign).
_INLINE_SPAN_RE = re.compile(
    r"(?<![\\$])\$(?!\$)((?:[^$\\]|\\.){1,1000}?)(?<!\\)\$(?!\$)", re.DOTALL
)
_SEPARATORS_RE = re.compile(r"[\s,;.]*(?:(?:and|or)[\s,;.]*)*", re.IGNORECASE)


def _inline_spans(text: str) -> list[str]:
    """The inline `$...$` spans of a short text (of a long one: none, it is not an answer)."""
    if len(text) > MAX_ANSWER_CHARS or text.count("$") < 4:
        return []
    return [m.group(1).strip() for m in _INLINE_SPAN_RE.finditer(text)]


def _looks_bare(text: str, max_chars: int, max_words: int) -> bool:
    """True when the whole text reads as an answer, not as prose around one."""
    stripped = text.strip()
    if not stripped or len(stripped) > max_chars or stripped.count("\n") > max_chars // 200:
        return False
    without_latex = _LATEX_CMD_RE.sub(" ", stripped)
    words = list(_WORD_RE.finditer(without_latex))
    if len(words) > max_words:
        return False
    # "I think 4" is prose around a number; "4 apples" is a number with its unit.
    digits = [m.start() for m in re.finditer(r"\d", without_latex)]
    return not (max_words <= 3 and digits and words and words[0].start() < digits[-1])


def last_number(text: str) -> str | None:
    """The last number in the text (thousand separators and a trailing fraction kept)."""
    matches: list[str] = _NUMBER_RE.findall(text)
    if not matches:
        return None
    return matches[-1].rstrip(",")


def extract_answer(
    text: str | None,
    *,
    fallback_last_number: bool = True,
    bare_max_chars: int = 80,
    bare_max_words: int = 3,
) -> Extraction:
    """The final answer of `text` and the rule that found it; see the module docstring."""
    if text is None:
        return Extraction(None, "none")
    if len(text) > MAX_SCAN_CHARS:
        text = text[-MAX_SCAN_CHARS:]
    if len(text) <= 32 and _PLAIN_NUMBER_RE.fullmatch(text.strip()):
        return Extraction(text.strip(), "bare")  # what the rules below give, without them
    boxes = _final_boxes(text)
    if len(boxes) > 1:
        return Extraction(", ".join(boxes)[:MAX_ANSWER_CHARS], "boxed_set")
    if boxes:
        return Extraction(boxes[0][:MAX_ANSWER_CHARS], "boxed")
    hashes = _HASH_RE.findall(text)
    if hashes and hashes[-1].strip():
        return Extraction(_clean_tail(hashes[-1])[:MAX_ANSWER_CHARS], "hash")
    phrase = _answer_phrase(text)
    if phrase == PROSE:
        return Extraction(None, "prose")
    if phrase:
        return Extraction(phrase[:MAX_ANSWER_CHARS], "the_answer_is")
    block = _whole_block(text)
    if block is not None:
        return Extraction(block[:MAX_ANSWER_CHARS], "bare")
    spans = _inline_spans(text)
    if len(spans) > 1:
        # Several `$...$` spans: joined only by commas, "and", "or" they are one answer of
        # several parts ("$x=3$ or $x=-3$"), kept together; with words between them they are
        # prose, and the last span below answers.
        if _SEPARATORS_RE.fullmatch(_INLINE_SPAN_RE.sub("", text)):
            return Extraction(", ".join(spans)[:MAX_ANSWER_CHARS], "bare")
    elif _looks_bare(text, bare_max_chars, bare_max_words) and (
        bare_max_words <= 3 or prose_words(text) < 3
    ):
        bare = _clean_tail(text)
        if bare:
            return Extraction(bare, "bare")
    found = _last_math(text[-LAST_MATH_CHARS:])
    if found is not None and (found[1] == "last_latex" or fallback_last_number):
        return Extraction(found[0][:MAX_ANSWER_CHARS], found[1])
    if fallback_last_number:
        number = last_number(text)
        if number is not None:
            return Extraction(number, "last_number")
    return Extraction(None, "none")


def _whole_block(text: str) -> str | None:
    """The answer when the whole text is one LaTeX environment (a matrix: rows on many
    lines) or one display block (`$$...$$`, `\\[...\\]`), else None."""
    if len(text) > MAX_ANSWER_CHARS * 4:
        return None
    if _ENVIRONMENT_RE.fullmatch(text):
        return text.strip()
    display = _DISPLAY_RE.fullmatch(text)
    if display is not None:
        inner = (display.group("a") or display.group("b") or "").strip()
        if inner and prose_words(inner) < 3:
            return inner
    return None


# A reference that opens with its answer and then qualifies it: "$...$ for all ...",
# "$...$ where ...". Not "when": in "$\cos t=0$ when $t=...$" the answer is what follows.
_QUALIFIED = re.compile(
    r"\A\s*\$(?!\$)([^$]{1,1000})\$\s*,?\s*"
    r"(?:for|where|with|if|provided|assuming|unless)\b",
    re.IGNORECASE,
)


def extract_reference(text: str | None) -> Extraction:
    """A gold answer: a worked solution (boxed, `####`), a sentence around the answer ("So the
    total is $42$ apples."), an answer with its qualification ("$(2-t, t)$ for all real
    numbers $t$"), or, far more often, the bare answer itself."""
    if text is not None and "\\boxed" not in text and "\\fbox" not in text:
        qualified = _QUALIFIED.match(text[:MAX_SCAN_CHARS])
        if qualified and qualified.group(1).strip():
            return Extraction(qualified.group(1).strip(), "qualified")
    found = extract_answer(
        text, fallback_last_number=True, bare_max_chars=MAX_ANSWER_CHARS, bare_max_words=12
    )
    if found.rule == "none" and text is not None and text.strip():
        # Words and no number ("No real solutions"): the words are the answer.
        bare = _clean_tail(text)
        if bare and len(bare) <= MAX_ANSWER_CHARS:
            return Extraction(bare, "bare")
    return found
