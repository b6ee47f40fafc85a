"""Blends: strategy ratios and a total budget -> counts needed vs available, and export.

Availability is the kept count under a `Selection` (the same SQL the Filters screen shows).
Export writes JSONL (chat `messages`, or `prompt`/`completion`) plus a dataset card
(JSON and Markdown) with counts, filters and provenance next to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.config.schema import FLAMES_BLEND
from pipeline.errors import ConfigError, InputError
from pipeline.selection.thresholds import JOINS, Selection, kept_condition, strategy_counts
from storage.database import transaction

# The FLAMES paper's blend (Seegmiller et al. 2025), defined once with the config schema.
FLAMES_PRESET: dict[str, float] = FLAMES_BLEND
FORMATS = ("messages", "prompt-completion")
_BATCH = 500


@dataclass(frozen=True)
class BlendLine:
    """One strategy's share of a blend."""

    strategy: str
    ratio: float
    needed: int
    available: int

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
) -> list[BlendLine]:
    """Needed vs available per strategy for this blend."""
    shares = normalise_ratios(ratios)
    needed = split_budget(ratios, total)
    kept = {name: k for name, k, _ in strategy_counts(db, experiment_id, selection)}
    return [BlendLine(name, shares[name], needed[name], kept.get(name, 0)) for name in ratios]


def warnings(plan: list[BlendLine]) -> list[str]:
    """One line per strategy that cannot meet its share."""
    return [
        f"{line.strategy}: needs {line.needed}, only {line.available} kept ({line.short} short)"
        for line in plan
        if line.short
    ]


def _pick_solution(
    policy: str, problem: dict[str, Any], solutions: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The solution a policy trains on: the first, a majority one, or a verified one."""
    if not solutions:
        return None
    if policy == "reference-verified":
        return next((s for s in solutions if s["verdict"] == "correct"), None)
    if policy in ("strict", "majority"):
        answer = problem["majority_answer"]
        return next((s for s in solutions if s["extracted_answer"] == answer), solutions[0])
    return solutions[0]


def _kept_problems(
    db: Database, experiment_id: int | None, strategy: str, selection: Selection, limit: int
) -> list[dict[str, Any]]:
    condition, params = kept_condition(selection)
    exp = "AND p.experiment_id = ?" if experiment_id is not None else ""
    exp_params = [experiment_id] if experiment_id is not None else []
    cursor = db.execute(
        "SELECT p.id, p.text, p.seed_id, p.model, p.template_version, s.majority_answer "
        f"FROM problems p {JOINS} WHERE p.strategy = ? {exp} AND {condition} "
        # A fixed hash order: a spread-out, reproducible sample rather than the oldest rows.
        "ORDER BY (p.id * 2654435761) % 4294967296 LIMIT ?",
        [strategy, *exp_params, *params, limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _records(
    db: Database, problems: list[dict[str, Any]], policy: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for start in range(0, len(problems), _BATCH):
        batch = problems[start : start + _BATCH]
        ids = [p["id"] for p in batch]
        marks = ", ".join("?" for _ in ids)
        cursor = db.execute(
            "SELECT problem_id, model, text, extracted_answer, verdict FROM solutions "
            f"WHERE problem_id IN ({marks}) ORDER BY problem_id, sample_index",
            ids,
        )
        by_problem: dict[int, list[dict[str, Any]]] = {}
        for pid, model, text, answer, verdict in cursor.fetchall():
            by_problem.setdefault(int(pid), []).append(
                {"model": model, "text": text, "extracted_answer": answer, "verdict": verdict}
            )
        for problem in batch:
            chosen = _pick_solution(policy, problem, by_problem.get(problem["id"], []))
            if chosen is not None:
                yield problem, chosen


def format_record(fmt: str, problem: str, solution: str) -> dict[str, Any]:
    """One training example in the chosen format."""
    if fmt == "messages":
        return {
            "messages": [
                {"role": "user", "content": problem},
                {"role": "assistant", "content": solution},
            ]
        }
    return {"prompt": problem, "completion": solution}


@dataclass
class ExportResult:
    """What an export wrote."""

    path: Path
    card_json: Path
    card_md: Path
    written: dict[str, int]
    plan: list[BlendLine]


def export_blend(
    db: Database,
    experiment_id: int | None,
    ratios: dict[str, float],
    total: int,
    selection: Selection,
    out: str | Path,
    *,
    fmt: str = "messages",
    name: str = "blend",
    command: str = "",
) -> ExportResult:
    """Write the blend as JSONL and its dataset card; store the blend's definition."""
    if fmt not in FORMATS:
        raise ConfigError(f"export format '{fmt}' is unknown: use one of {', '.join(FORMATS)}")
    out_path = Path(out)
    if out_path.parent and not out_path.parent.exists():
        raise InputError(f"folder {out_path.parent} does not exist", path=str(out_path))
    plan = plan_blend(db, experiment_id, ratios, total, selection)
    written: dict[str, int] = {}
    models: set[str] = set()
    templates: set[str] = set()
    with open(out_path, "w", encoding="utf-8") as handle:
        for line in plan:
            problems = _kept_problems(db, experiment_id, line.strategy, selection, line.needed)
            count = 0
            for problem, solution in _records(db, problems, selection.policy):
                handle.write(
                    json.dumps(
                        format_record(fmt, problem["text"], solution["text"]), ensure_ascii=False
                    )
                    + "\n"
                )
                count += 1
                models.update(m for m in (problem["model"], solution["model"]) if m)
                if problem["template_version"]:
                    templates.add(str(problem["template_version"]))
            written[line.strategy] = count
    card = {
        "name": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "experiment_id": experiment_id,
        "format": fmt,
        "total_requested": total,
        "total_written": sum(written.values()),
        "strategies": [{**asdict(line), "written": written[line.strategy]} for line in plan],
        "selection": selection.to_dict(),
        "models": sorted(models),
        "template_versions": sorted(templates)[:50],
        "command": command,
        "file": out_path.name,
    }
    card_json = out_path.with_suffix(".card.json")
    card_md = out_path.with_suffix(".card.md")
    card_json.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    card_md.write_text(card_markdown(card), encoding="utf-8")
    if experiment_id is not None:
        save_blend(db, experiment_id, name, ratios, total, selection)
    return ExportResult(out_path, card_json, card_md, written, plan)


def card_markdown(card: dict[str, Any]) -> str:
    """The dataset card as Markdown."""
    lines = [
        f"# Dataset card: {card['name']}",
        "",
        f"- file: `{card['file']}` ({card['format']} format)",
        f"- examples: {card['total_written']} of {card['total_requested']} requested",
        f"- created: {card['created_at']}",
        f"- selection: {json.dumps(card['selection'])}",
        f"- models: {', '.join(card['models']) or 'unknown'}",
        "",
        "| strategy | ratio | needed | available | written |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['strategy']} | {s['ratio']:.0%} | {s['needed']} | {s['available']} | "
        f"{s['written']} |"
        for s in card["strategies"]
    ]
    if card["command"]:
        lines += ["", f"Reproduce: `{card['command']}`"]
    return "\n".join(lines) + "\n"


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
