"""The workspace schema as forward-only migrations (sqlite-utils `Migrations`).

Never edit a migration that has shipped: add a new one, at the end of the newest module
(`data` holds 0001-0006, `loop` 0007-0011; they register in import order).
`tests/unit/test_migrations.py` upgrades a database made at every earlier version to the newest.
"""

from __future__ import annotations

from storage.migrations import data as data  # noqa: F401 - registers 0001-0006
from storage.migrations import loop as loop  # noqa: F401 - registers 0007-0011, after data
from storage.migrations.registry import migrations

# The ordered names, oldest first: what `schema_version` reports.
MIGRATION_NAMES: list[str] = [m.name for m in migrations._migrations]

__all__ = ["MIGRATION_NAMES", "migrations"]
