"""Keys as people read them: `?` not "question_mark", `[` not "left_square_bracket"."""

from __future__ import annotations

from textual.binding import Binding
from textual.keys import format_key

# Names Textual's `format_key` leaves as words, spelled as a keyboard labels them.
_NAMES = {"enter": "enter", "escape": "esc", "pageup": "pgup", "pagedown": "pgdn"}


def key_name(key: str) -> str:
    """One key (`ctrl+s`, `question_mark`) as it is written on the keyboard (`ctrl+s`, `?`)."""
    *modifiers, base = key.split("+")
    name = _NAMES.get(base) or format_key(base)
    return "+".join([*modifiers, name])


def binding_keys(binding: Binding) -> str:
    """Every key of a binding, comma-separated (`+, =`)."""
    return ", ".join(key_name(k.strip()) for k in binding.key.split(","))


def bindings_of(bindings: list[Binding | tuple[str, str] | tuple[str, str, str]]) -> list[Binding]:
    """The `Binding` objects of a BINDINGS list (the tuple shorthand is not used here)."""
    return [b for b in bindings if isinstance(b, Binding)]
