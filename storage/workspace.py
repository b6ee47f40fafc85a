"""Where a workspace's commands write files by default: beside the workspace file.

`flames.db` in a clone keeps its outputs in `flames-out/` next to it (ignored by git), so
nothing lands in the current directory by accident; an explicit `--out` always wins.
"""

from __future__ import annotations

from pathlib import Path


def output_dir(db_path: str | Path) -> Path:
    """The default output folder of the workspace at `db_path`: `<folder>/<stem>-out`.

    Blends, dataset cards and `flames run` exports go here (not created until written).
    An in-memory workspace has no folder: its outputs go to `./flames-out`.
    """
    if str(db_path) == ":memory:":
        return Path("flames-out").resolve()
    path = Path(db_path).resolve()
    return path.parent / f"{path.stem}-out"
