"""Dataset cards: what a training file holds and how to make it again, as JSON and Markdown.

A card sits next to its dataset (`train.jsonl` -> `train.card.json`, `train.card.md`) and
records everything a comparison needs to trust the file: experiment and arm, the selection
(policy and every threshold, None meaning off), ratios and counts per strategy, what was
skipped and why (truncated solutions, problems without a usable solution), models, prompt
template versions, the sha256 of each file, and the command that reproduces it.

API (shared by the SFT, RFT, DPO and per-step DPO exports):
    DatasetCard(...)                    the card as data; `to_dict()` / `from_dict()`
    card_paths(dataset_path)            -> (json path, markdown path)
    write_card(card, dataset_path, overwrite=False) -> (json path, markdown path)
    read_card(json_path)                -> DatasetCard
    card_markdown(card)                 -> str
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.datasets.formats import check_new
from pipeline.errors import InputError


def now_utc() -> str:
    """An ISO timestamp for `created_at`."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StrategyRow:
    """One strategy's part of a dataset: its share, what it needed, had and gave."""

    strategy: str
    written: int
    ratio: float | None = None
    needed: int | None = None
    available: int | None = None


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset file holds and how it was made.

    Attributes:
        name: the dataset's name (a stored blend's name, or the file stem).
        kind: "sft", "rft", "dpo" or "step-dpo".
        experiment, arm: where the data comes from (arm None: the experiment's base config).
        record_format: "messages" or "prompt-completion" (`pipeline.datasets.formats`).
        selection: the policy and every threshold as stored (`Selection.to_dict()`).
        ratios: strategy -> share (normalised), empty when the file holds all kept problems.
        total_requested: the budget asked for (None: everything kept).
        strategies: per-strategy counts.
        skipped: reason -> problems left out after selection ("truncated", "no_solution").
        models: role -> model ids ("generator", "teacher", "student", ...).
        template_versions: prompt template versions the problems were generated with.
        files: file name -> sha256 of its bytes.
        command: the command line that writes the same file again.
        created_at: ISO time of writing.
        notes: departures from a published method a reader should know about.
        extra: anything specific to one kind (rollouts per step, K, ...).
    """

    name: str
    kind: str
    experiment: str | None
    record_format: str
    selection: dict[str, Any]
    strategies: tuple[StrategyRow, ...]
    command: str
    arm: str | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    total_requested: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    models: dict[str, list[str]] = field(default_factory=dict)
    template_versions: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=now_utc)
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_written(self) -> int:
        """Examples in the file(s)."""
        return sum(row.written for row in self.strategies)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the `.card.json` file)."""
        data = asdict(self)
        data["total_written"] = self.total_written
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetCard:
        """The card from its JSON form (unknown keys are ignored: newer cards still read)."""
        known = {f for f in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        values["strategies"] = tuple(StrategyRow(**row) for row in data.get("strategies", ()))
        values["notes"] = tuple(data.get("notes", ()))
        return cls(**values)


def card_paths(dataset_path: str | Path) -> tuple[Path, Path]:
    """Where the card of a dataset file lives: (`X.card.json`, `X.card.md`)."""
    path = Path(dataset_path)
    return path.with_suffix(".card.json"), path.with_suffix(".card.md")


def _atomic_text(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def write_card(
    card: DatasetCard, dataset_path: str | Path, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write the card as JSON and Markdown next to `dataset_path`; returns both paths."""
    json_path, md_path = card_paths(dataset_path)
    for path in (json_path, md_path):
        check_new(path, overwrite)
    _atomic_text(json_path, json.dumps(card.to_dict(), indent=2, ensure_ascii=False) + "\n")
    _atomic_text(md_path, card_markdown(card))
    return json_path, md_path


def read_card(path: str | Path) -> DatasetCard:
    """A card written by `write_card`."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such dataset card", path=str(file)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not a dataset card ({exc.msg})", path=str(file)) from None
    if not isinstance(data, dict):
        raise InputError("not a dataset card (expected a JSON object)", path=str(file))
    return DatasetCard.from_dict(data)


def _value(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def card_markdown(card: DatasetCard) -> str:
    """The card as Markdown: a heading, key facts, the per-strategy table, the command."""
    examples = "1 example" if card.total_written == 1 else f"{card.total_written:,} examples"
    requested = (
        f" of {card.total_requested:,} requested" if card.total_requested is not None else ""
    )
    lines = [
        f"# Dataset card: {card.name}",
        "",
        f"- kind: {card.kind} ({card.record_format} records)",
        f"- examples: {examples}{requested}",
        f"- experiment: {card.experiment or 'all'}" + (f", arm {card.arm}" if card.arm else ""),
        f"- created: {card.created_at}",
        "- selection: "
        + ", ".join(f"{key} {_value(value)}" for key, value in card.selection.items()),
    ]
    if card.skipped:
        lines.append(
            "- skipped after selection: "
            + ", ".join(f"{count:,} {reason}" for reason, count in card.skipped.items())
        )
    models = "; ".join(f"{role} {', '.join(ids)}" for role, ids in card.models.items() if ids)
    lines.append(f"- models: {models or 'not recorded'}")
    if card.template_versions:
        lines.append(f"- template versions: {', '.join(card.template_versions)}")
    for name, digest in card.files.items():
        lines.append(f"- file: `{name}` sha256 `{digest}`")
    for note in card.notes:
        lines.append(f"- note: {note}")
    lines += [
        "",
        "| strategy | ratio | needed | available | written |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.strategy} | {'-' if row.ratio is None else f'{row.ratio:.0%}'} | "
        f"{_count(row.needed)} | {_count(row.available)} | {row.written:,} |"
        for row in card.strategies
    ]
    if card.extra:
        lines += ["", "```json", json.dumps(card.extra, indent=2, ensure_ascii=False), "```"]
    if card.command:
        lines += ["", f"Reproduce: `{card.command}`"]
    return "\n".join(lines) + "\n"
