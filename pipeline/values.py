"""Strict value types for the config dataclasses that pydantic validates.

TOML already gives typed values, so nothing is coerced: `budget = "10"`, `k = 1.0` and
`seed = true` are errors, not silently converted. Floats accept integers (`epochs = 5`)
but never NaN or infinities.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

Int = StrictInt
Bool = StrictBool
Str = StrictStr
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]

__all__ = ["FORBID_EXTRA", "MAX_NAME_CHARS", "Bool", "Int", "Number", "Str", "name_problem"]

# Every config table rejects keys it does not know (a typo is an error, not ignored).
FORBID_EXTRA = ConfigDict(extra="forbid")


# Names users give things (seed sets, experiments): one line, short enough to show.
MAX_NAME_CHARS = 200


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a seed set or an experiment, or None when it can."""
    if not name.strip():
        return "must not be empty"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name):,} characters long; at most {MAX_NAME_CHARS} are allowed"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "must be one line of text (no newlines, tabs or control characters)"
    return None
