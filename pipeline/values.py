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

__all__ = ["FORBID_EXTRA", "Bool", "Int", "Number", "Str"]

# Every config table rejects keys it does not know (a typo is an error, not ignored).
FORBID_EXTRA = ConfigDict(extra="forbid")
