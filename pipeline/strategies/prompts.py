"""The strategies' prompt templates: packaged defaults, versions in the database, files.

Defaults ship in `pipeline/data/strategy_templates.toml` and are copied into the
`templates` table on first use. Users edit them as files: `export_templates` writes
one `<strategy>/<stage>.txt` per stage, `import_templates` reads them back, checks
every placeholder and stores each changed file as a new version.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from sqlite_utils import Database

from pipeline.errors import InputError
from pipeline.strategies.catalog import STRATEGIES
from pipeline.strategies.definition import Strategy
from pipeline.strategies.template import check_template
from storage.templates import (
    TemplateVersion,
    add_template_version,
    latest_template,
    save_strategy_definition,
    seed_default_template,
)

MANIFEST = "strategy.json"


@cache
def default_templates() -> dict[str, dict[str, str]]:
    """The packaged default template of every strategy stage."""
    text = resources.files("pipeline").joinpath("data/strategy_templates.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {
        name: {stage: str(body) for stage, body in stages.items()} for name, stages in data.items()
    }


def ensure_defaults(db: Database) -> None:
    """Store every strategy definition and default template the workspace lacks."""
    defaults = default_templates()
    for strategy in STRATEGIES.values():
        save_strategy_definition(db, strategy.name, strategy.describe())
        for stage in strategy.template_stages():
            seed_default_template(
                db, strategy.name, stage.name, defaults[strategy.name][stage.name]
            )


def current_templates(db: Database, strategy: Strategy) -> dict[str, TemplateVersion]:
    """The latest template of each stage of `strategy` (defaults stored if missing)."""
    out: dict[str, TemplateVersion] = {}
    for stage in strategy.template_stages():
        version = latest_template(db, strategy.name, stage.name)
        if version is None:
            ensure_defaults(db)
            version = latest_template(db, strategy.name, stage.name)
        assert version is not None
        out[stage.name] = version
    return out


def set_template(
    db: Database,
    strategy: Strategy,
    stage: str,
    body: str,
    *,
    note: str | None = None,
    path: str | None = None,
) -> tuple[TemplateVersion, bool]:
    """Check `body` and store it as the next version of `strategy`/`stage`; (version, added)."""
    if stage not in {s.name for s in strategy.template_stages()}:
        names = ", ".join(s.name for s in strategy.template_stages())
        raise InputError(
            f"strategy {strategy.name} has no stage '{stage}' (stages: {names})", path=path
        ) from None
    check_template(body, strategy.variables(), path=path)
    ensure_defaults(db)
    return add_template_version(db, strategy.name, stage, body, note)


def export_templates(db: Database, folder: Path) -> list[Path]:
    """Write the latest templates of all strategies under `folder`; the files written."""
    ensure_defaults(db)
    written: list[Path] = []
    for strategy in STRATEGIES.values():
        target = folder / strategy.name
        target.mkdir(parents=True, exist_ok=True)
        versions = current_templates(db, strategy)
        for name, version in versions.items():
            path = target / f"{name}.txt"
            path.write_text(version.body + "\n", encoding="utf-8")
            written.append(path)
        manifest = strategy.describe()
        manifest["exported_versions"] = {n: v.version for n, v in versions.items()}
        manifest["variables"] = sorted(strategy.variables())
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


@dataclass(frozen=True)
class ImportedTemplate:
    """One template file read by `import_templates` and what became of it."""

    strategy: str
    stage: str
    version: int
    added: bool
    path: Path
    missing_tags: tuple[str, ...] = ()  # sections the stage parses that the body never asks for


def missing_tags(strategy: Strategy, stage: str, body: str) -> tuple[str, ...]:
    """The sections `stage` requires whose `<tag>` the template never shows the model."""
    definition = strategy.stage(stage)
    if definition.whole_reply:
        return ()  # the reply itself is the section: no tag to show
    return tuple(s for s in definition.sections if f"<{s}>" not in body.lower())


def import_templates(
    db: Database, folder: Path, *, note: str | None = None
) -> list[ImportedTemplate]:
    """Store every changed `<strategy>/<stage>.txt` under `folder` as a new version.

    All files are checked before any is stored, so one bad file changes nothing.
    """
    if not folder.is_dir():
        raise InputError(
            "not a folder: give the folder that `flames strategies export` wrote", path=str(folder)
        )
    found: list[tuple[Strategy, str, str, Path]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        strategy = STRATEGIES.get(sub.name)
        if strategy is None:
            raise InputError(
                f"'{sub.name}' is not a strategy (known: {', '.join(STRATEGIES)})", path=str(sub)
            )
        for path in sorted(sub.glob("*.txt")):
            stage = path.stem
            if stage not in {s.name for s in strategy.template_stages()}:
                names = ", ".join(s.name for s in strategy.template_stages())
                raise InputError(
                    f"strategy {strategy.name} has no stage '{stage}' (stages: {names})",
                    path=str(path),
                )
            try:
                body = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text ({exc.reason})", path=str(path)) from None
            body = body[:-1] if body.endswith("\n") else body
            check_template(body, strategy.variables(), path=str(path))
            found.append((strategy, stage, body, path))
    if not found:
        raise InputError("no <strategy>/<stage>.txt template files found", path=str(folder))
    ensure_defaults(db)
    out: list[ImportedTemplate] = []
    for strategy, stage, body, path in found:
        version, added = add_template_version(
            db, strategy.name, stage, body, note or f"imported from {path}"
        )
        missing = missing_tags(strategy, stage, body)
        out.append(ImportedTemplate(strategy.name, stage, version.version, added, path, missing))
    return out
