"""What a strategy is, as data: its inputs, stages, parameters and answer rule.

A strategy is declarative: the runner reads a `Strategy` and executes its stages
through the engine; nothing strategy-specific lives in the runner except the
checks, pure functions over a slot's variables that name a reject reason (a paraphrase
that changed the numbers, an IQC iteration whose answer did not survive a re-solve).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.errors import ConfigError

# `seed_questions`: the seed questions train a model first (QFT); slots then need no seed.
InputKind = Literal["seed", "seed_answer", "seed_questions", "taxonomy", "none"]
AnswerRule = Literal["keeps", "derives", "none"]
ParamType = Literal["int", "float", "str", "bool", "list"]
# `llm`: one model call per slot; `render`: the template alone, no call; `train`: a model is
# fine-tuned before any slot runs (QFT), and the later stages sample from it.
StageKind = Literal["llm", "render", "train"]
# What one planned slot becomes: `one` problem; `each_round`: the problem after round j of
# the repeat loop (IQC keeps every iteration); `each_number`: a problem hiding the j-th
# number of the seed (Ask Me Anything).
Yields = Literal["one", "each_round", "each_number"]

SEED_VARIABLES = ("seed_question", "seed_answer", "seed_solution")
# Variables every input kind puts in front of the templates.
INPUT_VARIABLES: dict[str, tuple[str, ...]] = {
    "seed": SEED_VARIABLES,
    "seed_answer": SEED_VARIABLES,
    "seed_questions": (),
    "taxonomy": ("subject", "topic", "concepts", "level", "taxonomy_path"),
    "none": (),
}

# A check sees the slot's variables and returns a reject reason, or None to keep it.
Check = Callable[[Mapping[str, str]], str | None]


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its type, default and allowed range or choices."""

    name: str
    type: ParamType
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def validate(self, value: Any, *, where: str) -> Any:
        """`value` converted to this param's type; ConfigError naming `where` otherwise."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            return value
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{where}: expected an integer, got {value!r}")
        elif self.type == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: expected a number, got {value!r}")
            value = float(value)
        elif self.type == "str":
            if not isinstance(value, str):
                raise ConfigError(f"{where}: expected a string, got {value!r}")
            if self.choices and value not in self.choices:
                raise ConfigError(f"{where}: {value!r} is not one of {', '.join(self.choices)}")
            return value
        elif self.type == "list":
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
            bad = [v for v in value if self.choices and v not in self.choices]
            if bad:
                raise ConfigError(
                    f"{where}: unknown value(s) {', '.join(bad)}; "
                    f"choose from {', '.join(self.choices)}"
                )
            return list(value)
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where}: {value} is below the minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{where}: {value} is above the maximum {self.maximum:g}")
        return value

    def describe(self) -> dict[str, Any]:
        """This param as plain JSON-able data (for the strategies table and the TUI)."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
        }
        if self.minimum is not None:
            data["minimum"] = self.minimum
        if self.maximum is not None:
            data["maximum"] = self.maximum
        if self.choices:
            data["choices"] = list(self.choices)
        return data


ACCEPT_UNTAGGED = "accept_untagged"


@dataclass(frozen=True)
class Stage:
    """One step of a strategy: a prompt template and the sections its reply must have.

    Args:
        name: the stage name; also the template's name in the database.
        help: one line on what the stage does.
        sections: tagged sections the reply must contain (`<problem>...</problem>`).
        optional: sections that may appear; taken when present.
        kind: `llm` sends the rendered template to the model; `render` only renders it
            (its text becomes the variable `output`, no model call); `train` fine-tunes a
            model before the slots run (no template).
        output: for `render` stages, the variable the rendered text is written to.
        repeat: name of an int param; consecutive stages sharing it run that many rounds.
        whole_reply: the reply itself is the one section (a QFT model writes a bare
            question, never tags).
        check: run on the slot's variables right after this stage's reply is taken; a
            reason it returns rejects the slot at this stage (and round).
    """

    name: str
    help: str
    sections: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    kind: StageKind = "llm"
    output: str = "problem"
    repeat: str | None = None
    whole_reply: bool = False
    check: Check | None = field(default=None, compare=False)

    @property
    def has_template(self) -> bool:
        """Whether the stage renders a prompt template (a `train` stage has none)."""
        return self.kind != "train"

    def describe(self) -> dict[str, Any]:
        """This stage as plain JSON-able data."""
        return {
            "name": self.name,
            "help": self.help,
            "kind": self.kind,
            "sections": list(self.sections),
            "optional": list(self.optional),
            "output": self.output if self.kind == "render" else None,
            "repeat": self.repeat,
            "whole_reply": self.whole_reply,
            "checked": self.check is not None,
        }


COMMON_PARAMS: tuple[Param, ...] = (
    Param(
        ACCEPT_UNTAGGED,
        "bool",
        False,
        "take a reply with no tags at all as the one section a stage asks for (for small "
        "models that ignore the format; marked untagged in the stage output)",
    ),
)


@dataclass(frozen=True)
class Strategy:
    """A synthesis strategy: inputs -> stages -> a new problem (and maybe its answer).

    `answer_from` names the variable holding the reference answer: `seed_answer` for
    strategies that keep it, the masked given for strategies that derive it. `note` says
    where the method comes from, what it keeps of it and what this version changed
    (shown by `flames strategies show` and the Strategies screen).
    """

    name: str
    title: str
    summary: str
    inputs: InputKind
    answer_rule: AnswerRule
    stages: tuple[Stage, ...]
    params: tuple[Param, ...] = ()
    answer_from: str | None = None
    check: Check | None = field(default=None, compare=False)
    yields: Yields = "one"
    note: str = ""

    def __post_init__(self) -> None:
        # Every strategy takes the common params (after its own).
        own = {p.name for p in self.params}
        extra = tuple(p for p in COMMON_PARAMS if p.name not in own)
        object.__setattr__(self, "params", self.params + extra)

    def stage(self, name: str) -> Stage:
        """The stage called `name`; KeyError when there is none."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def template_stages(self) -> tuple[Stage, ...]:
        """The stages that have a prompt template (all but `train` stages)."""
        return tuple(s for s in self.stages if s.has_template)

    def repeat_param(self) -> str | None:
        """The param that sets the loop's round count, if the strategy loops."""
        return next((s.repeat for s in self.stages if s.repeat is not None), None)

    def defaults(self) -> dict[str, Any]:
        """The default value of every param."""
        return {p.name: p.default for p in self.params}

    def validate_params(self, params: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
        """`params` checked against the declared schema, with defaults filled in."""
        prefix = where or f"strategies.{self.name}.params"
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            names = ", ".join(known) or "none"
            raise ConfigError(
                f"{prefix}.{unknown[0]}: unknown parameter for {self.name} (it takes: {names})"
            )
        out = self.defaults()
        for name, value in params.items():
            out[name] = known[name].validate(value, where=f"{prefix}.{name}")
        return out

    def schedule(self, params: Mapping[str, Any]) -> list[tuple[Stage, int]]:
        """The stages in execution order with their round (0-based), loops unrolled."""
        steps: list[tuple[Stage, int]] = []
        i = 0
        while i < len(self.stages):
            stage = self.stages[i]
            if stage.repeat is None:
                steps.append((stage, 0))
                i += 1
                continue
            group = [stage]
            while (
                i + len(group) < len(self.stages)
                and self.stages[i + len(group)].repeat == stage.repeat
            ):
                group.append(self.stages[i + len(group)])
            rounds = int(params.get(stage.repeat, 1))
            steps.extend((s, r) for r in range(rounds) for s in group)
            i += len(group)
        return steps

    def variables(self) -> set[str]:
        """Every variable a template of this strategy may name."""
        names = set(INPUT_VARIABLES[self.inputs]) | {p.name for p in self.params}
        names |= {"round", "problem"}
        if self.inputs in ("seed", "seed_answer"):
            names |= {"answer", "solution"}  # start as the seed's, rewritten by loops
        if self.yields == "each_number":
            names.add("target")
        for stage in self.template_stages():
            names |= set(stage.sections) | set(stage.optional)
            names |= {f"{stage.name}.{s}" for s in (*stage.sections, *stage.optional)}
            if stage.kind == "render":
                names.add(stage.output)
        return names

    def describe(self) -> dict[str, Any]:
        """The definition as JSON-able data, stored in the `strategies` table."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "inputs": self.inputs,
            "answer_rule": self.answer_rule,
            "answer_from": self.answer_from,
            "yields": self.yields,
            "note": self.note,
            "stages": [s.describe() for s in self.stages],
            "params": [p.describe() for p in self.params],
        }
