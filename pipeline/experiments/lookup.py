"""The one experiment lookup: a name (or id) -> the experiment's row id, or a clear error.

Every command and screen resolves experiments here, so the error a user sees for a typo
is the same everywhere. Kept free of config and model imports: low layers use it.
"""

from __future__ import annotations

from sqlite_utils import Database

from pipeline.errors import ConfigError
from storage import experiments as rows


class UnknownExperiment(ConfigError):
    """No experiment by that name (or id) in the workspace."""


def resolve_experiment(db: Database, experiment: str | int) -> int:
    """The id of the experiment called `experiment` (or with that id)."""
    row = rows.experiment_row(db, str(experiment))
    if row is None and str(experiment).isdigit():
        row = rows.experiment_row_by_id(db, int(experiment))
    if row is None:
        raise UnknownExperiment(f"no experiment called '{experiment}'{_hint(db)}")
    return int(row["id"])


def experiment_name(db: Database, experiment_id: int) -> str:
    """The name of experiment `experiment_id`."""
    row = rows.experiment_row_by_id(db, experiment_id)
    if row is None:
        raise UnknownExperiment(f"no experiment with id {experiment_id}{_hint(db)}")
    return str(row["name"])


def _hint(db: Database) -> str:
    known = rows.experiment_names(db)
    if not known:
        return " (create one with `flames experiment new NAME --preset quickstart`)"
    shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return f" (experiments: {shown})"
