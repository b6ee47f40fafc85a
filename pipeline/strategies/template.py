"""Prompt templates: `{{name}}` placeholders filled in one pass, nothing executed.

A template is plain text. `{{ name }}` is replaced by the variable's text; the
inserted text is never scanned again, so a model reply that contains `{{...}}`
cannot pull other variables into the next prompt. There are no expressions,
filters, attribute lookups or loops: a template cannot run code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pipeline.errors import InputError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}")
# Anything that looks like a placeholder attempt but is not a valid name.
SUSPECT = re.compile(r"\{\{(?!\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?\s*\}\})")

MAX_TEMPLATE_CHARS = 50_000


def placeholders(body: str) -> list[str]:
    """The variable names `body` uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(body):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check_template(body: str, allowed: Iterable[str], *, path: str | None = None) -> None:
    """Raise InputError when `body` is empty, malformed or names an unknown variable."""
    if not body.strip():
        raise InputError("the template is empty", path=path)
    if len(body) > MAX_TEMPLATE_CHARS:
        raise InputError(f"the template is longer than {MAX_TEMPLATE_CHARS} characters", path=path)
    bad = SUSPECT.search(body)
    if bad is not None:
        line = body.count("\n", 0, bad.start()) + 1
        snippet = body[bad.start() : bad.start() + 30].splitlines()[0]
        raise InputError(
            f"'{snippet}' is not a placeholder: write {{{{name}}}} with a plain variable name",
            path=path,
            line=line,
        )
    known = set(allowed)
    for name in placeholders(body):
        if name not in known:
            raise InputError(
                f"unknown variable {{{{{name}}}}}; this strategy's templates can use: "
                f"{', '.join(sorted(known))}",
                path=path,
            )


def render(body: str, variables: Mapping[str, str]) -> str:
    """`body` with every placeholder replaced by its variable ('' when unset)."""
    return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), body)
