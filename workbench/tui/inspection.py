"""What the inspector says about one problem, as Textual `Content` (pure functions).

Text from the data (problems, replies, answers, names) is only ever a plain part of a
Content, never markup, so `\\[ x \\]` and `[b]` show exactly as stored. Signals a stage has
not computed yet say "not ... yet": absent is not zero.
"""

from __future__ import annotations

import json
from typing import Any

from textual.content import Content

from pipeline.problems.browse import ProblemDetail
from pipeline.selection import THRESHOLDS, Selection

# Verdicts are labelled in words and a glyph, never by colour alone.
VERDICTS: dict[str | None, tuple[str, str]] = {
    "correct": ("$success", "✓ correct"),
    "incorrect": ("$error", "✗ incorrect"),
    "unverifiable": ("$warning", "? unverifiable"),
    None: ("$text-muted", "- not verified"),
}
RAW_REPLY_CHARS = 400
SOLUTION_CHARS = 500


def lines(parts: list[Content]) -> Content:
    """Content lines joined by newlines."""
    return Content("\n").join(parts)


def title(text: str) -> Content:
    return Content.styled(text, "bold")


def verdict(value: str | None) -> Content:
    """A verdict: colour plus glyph plus word."""
    colour, label = VERDICTS.get(value, VERDICTS[None])
    return Content.styled(label, f"bold {colour}")


def number(value: Any) -> str:
    """A stored value for reading: floats to 3 places, None as '-'."""
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(data: Any) -> str:
    """A JSON object as `key=value, ...` (values as text, not JSON-escaped)."""
    if isinstance(data, dict):
        return ", ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in data.items()
        )
    return "" if data is None else str(data)


def header(detail: ProblemDetail) -> Content:
    """Problem id, strategy and status (a rejection with its reason)."""
    p = detail.problem
    status = (
        Content.assemble(("rejected", "bold $error"), ": ", str(p["reject_reason"] or ""))
        if p["status"] == "rejected"
        else Content("ok")
    )
    return Content.assemble(
        (f"Problem {p['id']}", "bold"),
        "  strategy ",
        (str(p["strategy"]), "bold"),
        "  status ",
        status,
    )


def reference(detail: ProblemDetail) -> Content:
    p = detail.problem
    answer = p["reference_answer"]
    return Content.assemble(
        ("reference answer ", "dim"),
        str(answer) if answer is not None else "none (the strategy gives no answer)",
        ("  answer rule ", "dim"),
        str(p["answer_rule"]),
    )


def selection_verdict(detail: ProblemDetail, selection: Selection) -> Content:
    """Kept or dropped by the current selection (its policy and the thresholds that are
    on), and why where that is known."""
    p = detail.problem
    if detail.kept is None:
        return title("Selection") + Content(": not computed")
    outcome = (
        Content.styled("✓ kept", "bold $success")
        if detail.kept
        else Content.styled("✗ dropped", "bold $error")
    )
    rules = [f"policy {selection.policy}"] + [
        f"{name} {getattr(selection, name):g}"
        for name in THRESHOLDS
        if getattr(selection, name) is not None
    ]
    reasons: list[str] = []
    if p["status"] == "rejected":
        reasons.append(f"the strategy rejected it ({p['reject_reason'] or 'no reason stored'})")
    if detail.mark and detail.mark[0] in ("keep", "drop"):
        reasons.append(f"marked {detail.mark[0]} by hand")
    if not detail.kept and p["status"] != "rejected" and not detail.solutions:
        reasons.append("not solved yet: no solution to train on")
    if not reasons and detail.reasons:
        reasons = list(detail.reasons)
    return (
        title("Selection")
        + Content(": ")
        + outcome
        + Content(f" by {', '.join(rules)}" + (f": {'; '.join(reasons)}" if reasons else ""))
    )


def provenance(detail: ProblemDetail) -> Content:
    """Who made the problem from what, stage by stage, readable (not a JSON dump)."""
    p = detail.problem
    templates = _json(p["template_version"])
    template_text = (
        ", ".join(f"{stage} v{version}" for stage, version in templates.items())
        if isinstance(templates, dict)
        else number(templates)
    )
    params = _pairs(_json(p["params_json"])) or "defaults"
    parts = [
        title("Provenance"),
        Content.assemble(
            ("model ", "dim"),
            number(p["model"]),
            ("  templates ", "dim"),
            template_text,
            ("  params ", "dim"),
            params,
        ),
    ]
    seed = detail.seed
    if seed:
        parts.append(
            Content.assemble(
                (f"seed #{seed['id']}", "bold"),
                f" ({seed['seed_set']} line {seed['source_line']}): ",
                str(seed["question"]),
                ("  answer ", "dim"),
                number(seed["answer"]),
            )
        )
    else:
        parts.append(Content("seed: none (a seedless strategy)"))
    for stage in detail.stages:
        parts += _stage(stage)
    return lines(parts)


def _stage(stage: dict[str, Any]) -> list[Content]:
    """One stage output: its parsed sections as `name: text`, then the raw reply."""
    record = _json(stage["parsed_json"])
    sections = record.get("sections", record) if isinstance(record, dict) else record
    heading = Content.assemble(
        "stage ", (str(stage["stage"]), "bold"), f" (round {int(stage['round'] or 0) + 1})"
    )
    if isinstance(record, dict):
        extra = [f"{k} {record[k]}" for k in ("finish_reason", "reason") if record.get(k)]
        if extra:
            heading += Content.styled(f"  {', '.join(extra)}", "dim")
    out = [heading]
    if isinstance(sections, dict):
        for name, value in sections.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            out.append(Content.assemble("    ", (f"{name}: ", "bold"), text))
    elif sections is not None:
        out.append(Content.assemble("    ", str(sections)))
    response = stage["response"]
    if response:
        cut = response[:RAW_REPLY_CHARS] + ("…" if len(response) > RAW_REPLY_CHARS else "")
        out.append(Content.assemble("    ", ("raw reply: ", "dim"), cut))
    return out


def solutions(detail: ProblemDetail) -> Content:
    if not detail.solutions:
        return lines([title("Solutions") + Content(": not solved yet (run `flames solve`)")])
    parts = [title(f"Solutions ({len(detail.solutions)})")]
    for s in detail.solutions:
        parts.append(
            Content.assemble(
                f"#{s['sample_index']} ",
                str(s["model"]),
                "  answer ",
                (number(s["extracted_answer"]), "bold"),
                f" ({number(s['extract_rule'])})  ",
                verdict(s["verdict"]),
            )
        )
        text = str(s["text"])
        parts.append(
            Content("   " + text[:SOLUTION_CHARS] + ("…" if len(text) > SOLUTION_CHARS else ""))
        )
    return lines(parts)


def signals(detail: ProblemDetail) -> Content:
    """Every stored signal, or what has not been computed yet."""
    s = detail.scores or {}

    def have(*keys: str) -> bool:
        return any(s.get(k) is not None for k in keys)

    parts = [title("Signals")]
    if have("n_solutions", "majority_share"):
        groups = _json(s.get("groups_json"))
        parts.append(
            Content(
                f"  answers: {_count(s.get('n_solutions'), 'solution')} in "
                f"{_count(s.get('n_groups'), 'group')}; majority "
                f"{number(s.get('majority_answer'))} ({number(s.get('majority_share'))}), first "
                f"{number(s.get('first_answer'))}, all agree {_yes_no(s.get('all_agree'))}, "
                "reference "
                + {None: "none to check", 1: "agrees", 0: "disagrees"}.get(
                    s.get("reference_agrees"), "-"
                )
                + (
                    "; groups " + ", ".join(f"{a} ×{n}" for a, n in groups)
                    if _is_pairs(groups)
                    else ""
                )
            )
        )
    else:
        parts.append(Content("  answers: not solved yet"))
    parts.append(
        Content(f"  judge: {number(s['judge_score'])}")
        if have("judge_score")
        else Content("  judge: not judged yet")
    )
    if have("dup_of_sim", "nn_sim", "is_exact_dup"):
        nearest = (
            f"nearest #{number(s.get('nn_id'))} at {number(s.get('nn_sim'))}"
            if s.get("nn_id") is not None
            else "no near neighbour"
        )
        outranking = ""
        if s.get("dup_of_sim") is not None:
            which = f"#{s['dup_of_id']}" if s.get("dup_of_id") is not None else "problem"
            outranking = f", closest outranking {which} at {number(s['dup_of_sim'])}"
        exact = "; an exact duplicate of an earlier problem" if s.get("is_exact_dup") else ""
        parts.append(Content(f"  near-duplicates: {nearest}{outranking}{exact}"))
    else:
        parts.append(Content("  near-duplicates: not checked yet"))
    return lines(parts)


def decontamination(detail: ProblemDetail) -> Content:
    """The benchmark match, none found, or not checked yet."""
    s = detail.scores or {}
    overlap = s.get("decontam_overlap")
    match = detail.decontam_match
    if match:
        return lines(
            [
                Content.assemble(
                    title("Decontamination"),
                    ": ",
                    ("⚠ matches ", "bold $error"),
                    (str(match.get("benchmark", "?")), "bold $error"),
                    f" item {match.get('item', '?')} (overlap {number(overlap)})",
                ),
                Content(str(match.get("text", ""))),
            ]
        )
    if overlap is None:
        return title("Decontamination") + Content(": not checked yet (run `flames decontaminate`)")
    return title("Decontamination") + Content(
        f": no benchmark match (highest overlap {number(overlap)})"
    )


def diff(words: list[tuple[str, bool]]) -> Content:
    """Words with the differing ones highlighted (underlined too, for monochrome terminals)."""
    parts: list[str | tuple[str, str]] = []
    for i, (word, changed) in enumerate(words):
        if i:
            parts.append(" ")
        parts.append((word, "underline bold $accent") if changed else word)
    return Content.assemble(*parts)


def _count(value: Any, noun: str) -> str:
    n = int(value or 0)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _yes_no(value: Any, none: str = "-") -> str:
    if value is None:
        return none
    return "yes" if value else "no"


def _is_pairs(groups: Any) -> bool:
    return (
        isinstance(groups, list)
        and all(isinstance(g, list) and len(g) == 2 for g in groups)
        and bool(groups)
    )
