"""Layering: import contracts hold, and importing storage and pipeline never loads textual.

The contracts (pyproject.toml, `[tool.importlinter]`) see every import, string imports
through importlib aside; the subprocess probe below catches those too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, pkgutil, sys
import storage, pipeline
names = []
for package in (storage, pipeline):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith(".__main__"):  # running it is not importing it
            names.append(info.name)
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(len(names), loaded)
sys.exit(1 if loaded else 0)
"""


def test_storage_and_pipeline_never_import_textual() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    modules = int(result.stdout.split()[0])
    assert modules >= 10  # the probe really walked the packages


def test_storage_never_imports_pipeline_or_workbench() -> None:
    offenders = []
    for path in (ROOT / "storage").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(
                ("from pipeline", "import pipeline", "from workbench", "import workbench")
            ):
                offenders.append(f"{path.name}: {stripped}")
    assert not offenders, offenders


def test_pipeline_never_imports_workbench() -> None:
    offenders = []
    for path in (ROOT / "pipeline").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith(("from workbench", "import workbench")):
                offenders.append(f"{path.name}: {line.strip()}")
    assert not offenders, offenders


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.lower().split("contracts:")[-1].replace(" 0 broken", "")
