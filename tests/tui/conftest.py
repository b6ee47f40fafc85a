"""Fixtures for driving the workbench with Pilot on a small, deterministic workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.sample import build_workspace


@pytest.fixture()
def sample_db(tmp_path: Path) -> Path:
    """A workspace with experiment 'demo', 60 problems, scores, solutions, a duplicate pair."""
    path = tmp_path / "sample.db"
    build_workspace(path, 60).conn.close()
    return path


@pytest.fixture()
def empty_db(tmp_path: Path) -> Path:
    """A brand-new workspace: no seeds, no experiments."""
    from storage.database import open_db

    path = tmp_path / "empty.db"
    open_db(path).conn.close()
    return path
