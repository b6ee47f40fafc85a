"""Errors a user can act on: the CLI and TUI show their message, never a traceback."""

from __future__ import annotations


class FlamesError(Exception):
    """A problem the user can fix (bad file, bad config, missing model).

    The message must name what is wrong (file, line, field or key) and what to do.
    """


class InputError(FlamesError):
    """Bad input data: a file, a line or a field that cannot be used."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = path
            if line is not None:
                where += f":{line}"
            where += ": "
        if field is not None:
            message = f"field '{field}': {message}"
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.field = field


class ConfigError(FlamesError):
    """A configuration file or value that does not validate."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none: what a
    one-line user message quotes from a library's multi-line exception."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
