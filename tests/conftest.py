"""Fixtures shared by every test layer."""

from __future__ import annotations

import os

# Spinning OpenMP threads steal the CPU from the test's other processes (verifier pool,
# servers) on a 2-core machine; this only takes effect before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sqlite_utils import Database  # noqa: E402

from storage.database import open_db  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    """The public benchmark/seed files laid beside the checkout (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: tests need ../shared/data beside the checkout")
    return SHARED_DATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "flames.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A fresh workspace at the newest schema."""
    database = open_db(db_path)
    yield database
    database.close()
