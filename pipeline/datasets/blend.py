"""Blends: strategy ratios and a total budget -> counts needed vs available, and the SFT export.

Availability is the kept count under a `Selection` (the same rule the Filters screen counts).
Every kept problem has exactly one training solution, picked by its policy's rule
(`pipeline.selection.policy`); a problem whose candidates were all cut at the token limit is
not kept unless the selection allows truncated solutions, and the plan and the card say how
many that skipped. The export writes JSONL or Parquet (`pipeline.datasets.formats`) and a
dataset card next to it (`pipeline.datasets.cards`), and never overwrites a file unasked.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.config.schema import FLAMES_BLEND, ExperimentConfig
from pipeline.datasets.cards import DatasetCard, StrategyRow, card_paths, write_card
from pipeline.datasets.formats import RECORD_FORMATS, DatasetWriter, check_new, sft_record
from pipeline.errors import ConfigError
from pipeline.experiments.lookup import experiment_name
from pipeline.progress import ProgressEvent, Reporter, ignore
from pipeline.selection import (
    JOINS,
    Selection,
    kept_condition,
    needs_judge,
    needs_reward,
    strategy_counts,
    training_solution_sql,
)
from pipeline.selection.counts import kept_and_truncated, without_unused_marks
from pipeline.selection.selection import member_condition
from storage.database import transaction

# The FLAMES paper's blend (Seegmiller et al. 2025), defined once with the config schema.
FLAMES_PRESET: dict[str, float] = FLAMES_BLEND
FORMATS = RECORD_FORMATS
_BATCH = 500
# A fixed hash order over problem ids: a spread-out, reproducible sample, not the oldest rows.
_SAMPLE_ORDER = "(p.id * 2654435761) % 4294967296"


@dataclass(frozen=True)
class BlendLine:
    """One strategy's share of a blend."""

    strategy: str
    ratio: float
    needed: int
    available: int
    truncated: int = 0  # not available only because every candidate solution was cut

    @property
    def short(self) -> int:
        """How many problems are missing to meet `needed` (0 when enough)."""
        return max(0, self.needed - self.available)


def normalise_ratios(ratios: dict[str, float]) -> dict[str, float]:
    """Ratios scaled to sum to 1; negative or all-zero ratios are an error."""
    bad = [name for name, value in ratios.items() if value < 0]
    if bad:
        raise ConfigError(f"blend ratio for {', '.join(bad)} is negative: use values >= 0")
    total = sum(ratios.values())
    if total <= 0:
        raise ConfigError("blend ratios are all zero: give at least one strategy a share")
    return {name: value / total for name, value in ratios.items()}


def split_budget(ratios: dict[str, float], total: int) -> dict[str, int]:
    """Integer counts per strategy summing exactly to `total` (largest remainders win)."""
    if total < 0:
        raise ConfigError(f"blend total {total} is negative: give a count >= 0")
    shares = normalise_ratios(ratios)
    raw = {name: share * total for name, share in shares.items()}
    counts = {name: int(value) for name, value in raw.items()}
    left = total - sum(counts.values())
    for name in sorted(raw, key=lambda n: raw[n] - counts[n], reverse=True)[:left]:
        counts[name] += 1
    return counts


def plan_blend(
    db: Database,
    experiment_id: int | None,
    ratios: dict[str, float],
    total: int,
    selection: Selection,
    *,
    members: str | None = None,
) -> list[BlendLine]:
    """Needed vs available per strategy for this blend (of arm `members`' problems only, when
    given: an arm of `flames run` that runs a strategy at a lower budget than another)."""
    shares = normalise_ratios(ratios)
    needed = split_budget(ratios, total)
    counts = kept_and_truncated(db, experiment_id, selection, members=members)
    return [
        BlendLine(name, shares[name], needed[name], *counts.get(name, (0, 0))) for name in ratios
    ]


def all_kept_ratios(
    db: Database, experiment_id: int | None, selection: Selection
) -> tuple[dict[str, float], int]:
    """Ratios and total that export every kept problem (each strategy's kept count)."""
    kept = {name: float(k) for name, k, _ in strategy_counts(db, experiment_id, selection) if k}
    if not kept:
        raise ConfigError("no problem is kept under this selection: loosen it (flames filter)")
    return kept, int(sum(kept.values()))


def warnings(plan: list[BlendLine]) -> list[str]:
    """One line per strategy that cannot meet its share, and what truncation skipped."""
    lines = [
        f"{line.strategy}: needs {line.needed}, only {line.available} kept ({line.short} short)"
        for line in plan
        if line.short
    ]
    cut = sum(line.truncated for line in plan)
    if cut:
        lines.append(
            f"skipped {examples(cut, 'problem')} whose solutions were all cut at the token "
            "limit (allow them with --allow-truncated, or raise the teacher's max_new_tokens)"
        )
    return lines


def examples(n: int, noun: str = "example") -> str:
    """`1 example`, `2 examples`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _kept_sample(
    db: Database,
    experiment_id: int | None,
    strategy: str,
    selection: Selection,
    limit: int,
    members: str | None = None,
) -> list[tuple[int, int]]:
    """(problem id, training solution id) of up to `limit` kept problems of a strategy."""
    selection = without_unused_marks(db, selection)
    condition, params = kept_condition(selection)
    member, member_params = member_condition(members)
    condition, params = f"{condition} AND {member}", [*params, *member_params]
    solution = training_solution_sql(selection.policy, allow_truncated=selection.allow_truncated)
    exp = "AND p.experiment_id = ?" if experiment_id is not None else ""
    rows = db.execute(
        f"SELECT p.id, {solution} FROM problems p {JOINS} WHERE p.strategy = ? {exp} "
        f"AND {condition} ORDER BY {_SAMPLE_ORDER} LIMIT ?",
        [strategy, *([experiment_id] if experiment_id is not None else []), *params, limit],
    ).fetchall()
    return [(int(pid), int(sid)) for pid, sid in rows]


@dataclass(frozen=True)
class Example:
    """One training example: the problem and the solution its policy picked."""

    problem_id: int
    solution_id: int
    problem: str
    solution: str
    generator: str | None
    teacher: str | None
    template_version: str | None


def _examples(db: Database, picked: list[tuple[int, int]]) -> Iterator[Example]:
    for start in range(0, len(picked), _BATCH):
        batch = picked[start : start + _BATCH]
        marks = ", ".join("?" for _ in batch)
        problems = {
            int(r[0]): r[1:]
            for r in db.execute(
                f"SELECT id, text, model, template_version FROM problems WHERE id IN ({marks})",
                [pid for pid, _ in batch],
            )
        }
        solutions = {
            int(r[0]): r[1:]
            for r in db.execute(
                f"SELECT id, text, model FROM solutions WHERE id IN ({marks})",
                [sid for _, sid in batch],
            )
        }
        for pid, sid in batch:
            text, generator, template = problems[pid]
            solution, teacher = solutions[sid]
            yield Example(pid, sid, text, solution, generator, teacher, template)


@dataclass
class ExportResult:
    """What an export wrote."""

    path: Path
    card_json: Path
    card_md: Path
    written: dict[str, int]
    plan: list[BlendLine]
    card: DatasetCard
    problem_ids: list[int]

    @property
    def total_written(self) -> int:
        return sum(self.written.values())

    @property
    def skipped_truncated(self) -> int:
        return sum(line.truncated for line in self.plan)


def export_blend(
    db: Database,
    experiment_id: int | None,
    ratios: dict[str, float],
    total: int,
    selection: Selection,
    out: str | Path,
    *,
    record_format: str = "messages",
    overwrite: bool = False,
    name: str = "blend",
    command: str = "",
    arm: str | None = None,
    members: str | None = None,
    models: dict[str, list[str]] | None = None,
    progress: Reporter = ignore,
) -> ExportResult:
    """Write the blend (JSONL or Parquet, by the suffix of `out`) and its dataset card.

    Refuses to replace an existing file (dataset or card) unless `overwrite`. Stores the
    blend's definition under `name` for `flames export sft --blend NAME`. With `members`,
    only that arm's problems are drawn (`flames run`'s blend stage).
    """
    if record_format not in RECORD_FORMATS:
        raise ConfigError(
            f"record format '{record_format}' is unknown: use one of {', '.join(RECORD_FORMATS)}"
        )
    out_path = Path(out)
    for path in (out_path, *card_paths(out_path)):
        check_new(path, overwrite)
    plan = plan_blend(db, experiment_id, ratios, total, selection, members=members)
    goal = sum(min(line.needed, line.available) for line in plan)
    written: dict[str, int] = {}
    seen_generators: set[str] = set()
    seen_teachers: set[str] = set()
    templates: set[str] = set()
    ids: list[int] = []
    progress(ProgressEvent("export", 0, goal))
    with DatasetWriter(out_path, overwrite=overwrite) as writer:
        for line in plan:
            picked = _kept_sample(db, experiment_id, line.strategy, selection, line.needed, members)
            for example in _examples(db, picked):
                writer.write(sft_record(record_format, example.problem, example.solution))
                ids.append(example.problem_id)
                seen_generators.update([example.generator] if example.generator else [])
                seen_teachers.update([example.teacher] if example.teacher else [])
                if example.template_version:
                    templates.add(str(example.template_version))
                if len(ids) % 1000 == 0:
                    progress(ProgressEvent("export", len(ids), goal))
            written[line.strategy] = len(picked)
    file = writer.commit()
    progress(ProgressEvent("export", len(ids), goal))
    recorded = {"generator": sorted(seen_generators), "teacher": sorted(seen_teachers)}
    for role, configured in (models or {}).items():
        recorded[role] = recorded.get(role) or configured  # what the rows say comes first
    card = DatasetCard(
        name=name,
        kind="sft",
        experiment=experiment_name(db, experiment_id) if experiment_id is not None else None,
        arm=arm,
        record_format=record_format,
        selection=selection.to_dict(),
        strategies=tuple(
            StrategyRow(
                line.strategy, written[line.strategy], line.ratio, line.needed, line.available
            )
            for line in plan
        ),
        command=command,
        ratios={line.strategy: round(line.ratio, 6) for line in plan},
        total_requested=total,
        skipped={"truncated": sum(line.truncated for line in plan)},
        models={role: ids_ for role, ids_ in recorded.items() if ids_},
        template_versions=sorted(templates)[:50],
        files={file.path.name: file.sha256},
    )
    card_json, card_md = write_card(card, out_path, overwrite=overwrite)
    if experiment_id is not None:
        save_blend(db, experiment_id, name, ratios, total, selection)
    return ExportResult(file.path, card_json, card_md, written, plan, card, sorted(ids))


def config_models(config: ExperimentConfig, selection: Selection) -> dict[str, list[str]]:
    """The configured model of every role a dataset card names (the judge and reward model
    only when the selection reads their scores)."""
    roles = {"generator": config.models.generator, "teacher": config.models.teacher}
    if needs_judge(selection.policy, selection.judge_min):
        roles["judge"] = config.models.judge
    if needs_reward(selection.policy) and config.models.reward is not None:
        roles["reward"] = config.models.reward
    return {role: [spec.model] for role, spec in roles.items()}


def blend_command(
    *,
    db_path: str,
    experiment: str,
    ratios: dict[str, float],
    total: int,
    selection: Selection,
    out: str | Path | None = None,
    record_format: str = "messages",
    name: str = "blend",
    arm: str | None = None,
    force: bool = False,
) -> str:
    """The `flames blend` line that plans (and, with `out`, writes) exactly this blend."""
    words = ["flames", "blend", "--db", db_path, "--experiment", experiment]
    words += ["--arm", arm] if arm else []
    words += [f"--ratio={n}={v:g}" for n, v in ratios.items()]
    words += ["--total", str(total), *selection.cli_args()]
    if out is not None:
        words += ["--out", str(out), "--format", record_format, "--name", name]
        words += ["--force"] if force else []
    return shlex.join(words)


def save_blend(
    db: Database,
    experiment_id: int,
    name: str,
    ratios: dict[str, float],
    total: int,
    selection: Selection,
) -> None:
    """Store (or replace) a named blend of an experiment."""
    with transaction(db):
        db.execute(
            "INSERT INTO blends (experiment_id, name, ratios_json, total, filters_json) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(experiment_id, name) DO UPDATE SET "
            "ratios_json = excluded.ratios_json, total = excluded.total, "
            "filters_json = excluded.filters_json",
            [experiment_id, name, json.dumps(ratios), total, json.dumps(selection.to_dict())],
        )


def load_blend(
    db: Database, experiment_id: int, name: str
) -> tuple[dict[str, float], int, Selection] | None:
    """A stored blend's ratios, total and selection; None when there is no such blend."""
    row = db.execute(
        "SELECT ratios_json, total, filters_json FROM blends WHERE experiment_id = ? AND name = ?",
        [experiment_id, name],
    ).fetchone()
    if row is None:
        return None
    ratios: dict[str, Any] = json.loads(row[0])
    return (
        {k: float(v) for k, v in ratios.items()},
        int(row[1]),
        Selection.from_dict(json.loads(row[2])),
    )
