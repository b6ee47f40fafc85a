"""`Selection`: a policy and its thresholds, the one description of what is kept.

Its fields are the `[filter]` keys of the experiment config, spelled the same everywhere: a
field `judge_min` is the config key `filter.judge_min`, the flag `--judge-min`, the TUI's
`judge_min` field and the dataset card's `judge_min`. Defaults come from the experiment's
config (`Selection.from_config`); the class defaults are the config's defaults, so a bare
`Selection()` and an empty `[filter]` agree. A threshold of None is off.

`kept_condition` turns a Selection into one SQL condition; `SignalIndex.kept` is the same rule
in numpy. Both follow `pipeline.selection.policy.RULES`.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlite_utils import Database

from pipeline.config.loader import named_arm_config
from pipeline.config.schema import FilterConfig, Policy
from pipeline.errors import ConfigError
from pipeline.experiments.lookup import experiment_name
from pipeline.experiments.store import load_experiment
from pipeline.selection.policy import has_candidate_sql, rule

_DEFAULTS = FilterConfig()
# The stored score the near-duplicate threshold compares (written by `pipeline.dedup`): the
# similarity to the closest problem that outranks this one, so one problem of each
# near-duplicate family survives at any threshold.
NEAR_DUP_COLUMN = "dup_of_sim"

Kind = Literal["policy", "min", "max", "flag"]


def _meta(kind: Kind, help: str, column: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "help": help, "column": column}


@dataclass(frozen=True)
class Selection:
    """What is kept: a policy and thresholds (None turns a threshold off)."""

    policy: Policy = field(
        default=Policy(_DEFAULTS.policy),
        metadata=_meta("policy", "Selection policy over the sampled solutions."),
    )
    judge_min: float | None = field(
        default=_DEFAULTS.judge_min,
        metadata=_meta(
            "min", "Keep problems whose judge score (0..1) is at least this.", "judge_score"
        ),
    )
    near_dup_max: float | None = field(
        default=_DEFAULTS.near_dup_max,
        metadata=_meta(
            "max",
            "Drop problems at least this similar (0..1) to a problem that outranks them.",
            NEAR_DUP_COLUMN,
        ),
    )
    decontam_max: float | None = field(
        default=_DEFAULTS.decontam_max,
        metadata=_meta(
            "max",
            "Drop problems holding at least this share of a benchmark item's n-grams.",
            "decontam_overlap",
        ),
    )
    drop_exact_dups: bool = field(
        default=_DEFAULTS.drop_exact_dups,
        metadata=_meta("flag", "Drop exact duplicates (normalised text) of earlier problems."),
    )
    allow_truncated: bool = field(
        default=_DEFAULTS.allow_truncated,
        metadata=_meta("flag", "Let a solution cut at the token limit be a training target."),
    )
    honour_marks: bool = field(
        default=_DEFAULTS.honour_marks,
        metadata=_meta("flag", "Keep/drop marks set by hand override the rules."),
    )

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "policy", Policy(self.policy))
        except ValueError:
            raise ConfigError(
                f"selection policy '{self.policy}' is unknown: use one of {', '.join(Policy)}"
            ) from None
        for name in THRESHOLDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} = {value!r}: give a number between 0 and 1, or off")
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} = {value:g}: give a number between 0 and 1, or off")
            object.__setattr__(self, name, float(value))
        for name in FLAGS:
            object.__setattr__(self, name, bool(getattr(self, name)))

    @classmethod
    def from_config(cls, config: FilterConfig) -> Selection:
        """The selection an experiment's (or arm's) `[filter]` section describes."""
        return cls(**{name: getattr(config, name) for name in FIELDS})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        """From `to_dict()` output (a stored blend, a card); unknown keys are an error."""
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ConfigError(f"selection key '{unknown[0]}' is unknown: use {', '.join(FIELDS)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the config's spelling (dataset cards, stored blends)."""
        data = dataclasses.asdict(self)
        data["policy"] = self.policy.value
        return data

    def cli_args(self) -> list[str]:
        """Every field as a flag, off ones included, so the command does not depend on config."""
        args = ["--policy", self.policy.value]
        for name in THRESHOLDS:
            value = getattr(self, name)
            args += [flag_of(name), "off" if value is None else f"{value:g}"]
        for name in FLAGS:
            args.append(flag_of(name) if getattr(self, name) else f"--no-{flag_of(name)[2:]}")
        return args

    def cli_text(self) -> str:
        """`cli_args` as shell text."""
        return shlex.join(self.cli_args())

    def describe(self) -> str:
        """One line for humans: the policy and every threshold."""
        parts = [f"policy {self.policy.value}"]
        parts += [f"{name} {_shown(getattr(self, name))}" for name in THRESHOLDS]
        parts += [f"{name} {'yes' if getattr(self, name) else 'no'}" for name in FLAGS]
        return ", ".join(parts)


def experiment_selection(db: Database, experiment: str | int, arm: str | None = None) -> Selection:
    """The selection an experiment's (or one of its arms') `[filter]` config describes."""
    name = experiment_name(db, experiment) if isinstance(experiment, int) else experiment
    config = named_arm_config(load_experiment(db, name), arm)
    return Selection.from_config(config.filter)


def _shown(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"


def flag_of(name: str) -> str:
    """The command-line flag of a Selection field: `judge_min` -> `--judge-min`."""
    return "--" + name.replace("_", "-")


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Selection))
THRESHOLDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Selection) if f.metadata["kind"] in ("min", "max")
)
FLAGS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Selection) if f.metadata["kind"] == "flag"
)
# Threshold field -> the stored score it compares, and whether it is a floor or a ceiling.
THRESHOLD_COLUMNS: dict[str, str] = {
    f.name: str(f.metadata["column"])
    for f in dataclasses.fields(Selection)
    if f.metadata["kind"] in ("min", "max")
}
THRESHOLD_KINDS: dict[str, str] = {
    f.name: str(f.metadata["kind"])
    for f in dataclasses.fields(Selection)
    if f.metadata["kind"] in ("min", "max")
}
HELP: dict[str, str] = {f.name: str(f.metadata["help"]) for f in dataclasses.fields(Selection)}

# Aliases a kept-problems query joins: p = problems, s = scores, m = marks.
JOINS = "LEFT JOIN scores s ON s.problem_id = p.id LEFT JOIN marks m ON m.problem_id = p.id"


@dataclass(frozen=True)
class Check:
    """One test a kept problem passes: a name for people and its SQL over `JOINS`."""

    name: str
    sql: str
    params: tuple[Any, ...] = ()


def checks(selection: Selection) -> list[Check]:
    """The tests of `selection` besides status and marks, in the order `kept_condition`
    applies them (the training-solution test last: it is the costly one)."""
    found = rule(selection.policy)
    tests = [Check(f"policy {selection.policy.value}", f"({found.problem_sql})")]
    if selection.drop_exact_dups:
        tests.append(Check("drop_exact_dups", "COALESCE(s.is_exact_dup, 0) = 0"))
    for name in THRESHOLDS:
        value = getattr(selection, name)
        if value is None:
            continue
        column = f"s.{THRESHOLD_COLUMNS[name]}"
        if THRESHOLD_KINDS[name] == "min":
            tests.append(Check(f"{name} {value:g}", f"{column} >= ?", (value,)))
        else:
            tests.append(
                Check(f"{name} {value:g}", f"({column} IS NULL OR {column} < ?)", (value,))
            )
    needs = has_candidate_sql(found.target, allow_truncated=selection.allow_truncated)
    tests.append(Check("training solution", needs))
    return tests


def kept_condition(selection: Selection) -> tuple[str, list[Any]]:
    """SQL (over `p`, `s`, `m` of `JOINS`) true for kept problems, and its parameters.

    A problem is kept when it was generated ('ok'), has a solution the policy may train on
    (complete unless truncation is allowed), and meets the policy's condition and every
    threshold, or was marked `keep` by hand (a `drop` mark always drops). A missing
    near-duplicate or decontamination score never drops a problem; a missing judge score
    fails `judge_min` (absent is not zero, but it is not a pass either).
    """
    tests = checks(selection)
    rules, needs = tests[:-1], tests[-1]
    condition = " AND ".join(t.sql for t in rules)
    params: list[Any] = [p for t in rules for p in t.params]
    if selection.honour_marks:
        condition = (
            f"(COALESCE(m.mark, '') = 'keep' OR (COALESCE(m.mark, '') != 'drop' AND {condition}))"
        )
    # The correlated EXISTS goes last: SQLite tries the cheap column tests first.
    return f"p.status = 'ok' AND {condition} AND {needs.sql}", params


def member_condition(arm: str | None) -> tuple[str, list[Any]]:
    """SQL over `p`: the problem belongs to `arm` (its `arm_problems` rows, recorded by
    `flames run`'s select stage); always true when `arm` is None."""
    if arm is None:
        return "1", []
    return (
        "p.id IN (SELECT problem_id FROM arm_problems WHERE experiment_id = p.experiment_id "
        "AND arm = ?)",
        [arm],
    )


def failed_checks(db: Database, problem_id: int, selection: Selection) -> list[str]:
    """The names of the tests of `selection` that problem `problem_id` fails (the inspector's
    "why dropped"), each evaluated with the very SQL `kept_condition` uses."""
    tests = checks(selection)
    row = db.execute(
        f"SELECT p.status, m.mark, {', '.join(t.sql for t in tests)} FROM problems p {JOINS} "
        "WHERE p.id = ?",
        [*(p for t in tests for p in t.params), problem_id],
    ).fetchone()
    if row is None:
        return []
    status, mark, *passed = row
    failed = [] if status == "ok" else ["rejected by its strategy"]
    if selection.honour_marks and mark == "drop":
        failed.append("marked drop by hand")
    rule_failures = [t.name for t, ok in zip(tests[:-1], passed[:-1], strict=True) if not ok]
    if not (selection.honour_marks and mark == "keep"):
        failed += rule_failures
    if not passed[-1]:
        failed.append(
            "no solution it may train on"
            + ("" if selection.allow_truncated else " (complete, allow_truncated off)")
        )
    return failed
