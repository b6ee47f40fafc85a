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

__all__ = [
    "FORBID_EXTRA",
    "MAX_ATTEMPTS",
    "MAX_BUDGET",
    "MAX_CONCURRENCY",
    "MAX_EPOCHS",
    "MAX_NAME_CHARS",
    "MAX_NEW_TOKENS",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRIES",
    "MAX_SAMPLES",
    "MAX_SOLUTIONS",
    "MAX_TIMEOUT_S",
    "MAX_TOTAL",
    "MIN_RESPONSE_BYTES",
    "Bool",
    "Int",
    "Number",
    "Str",
    "name_problem",
]

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


# Upper bounds of counts and sizes (config and CLI both check them, with the same words):
# far above any real experiment, low enough that a typo fails at once instead of planning
# billions of slots or hanging.
MAX_BUDGET = 1_000_000  # problems (or attempts) per strategy; the paper kept 150K each
MAX_SOLUTIONS = 1_000  # teacher samples per problem (solve.k, --k); the paper uses 3
MAX_SAMPLES = 1_000  # samples per request (n)
MAX_TOTAL = 100_000_000  # examples in a blend
MAX_NEW_TOKENS = 1_000_000
MAX_ATTEMPTS = 100  # tries of one request within a run
MAX_RETRIES = 100  # HTTP retries of one request
MAX_TIMEOUT_S = 86_400.0  # one day
MAX_CONCURRENCY = 10_000
MAX_EPOCHS = 1_000
MAX_RESPONSE_BYTES = 1_000_000_000
MIN_RESPONSE_BYTES = 1_000
