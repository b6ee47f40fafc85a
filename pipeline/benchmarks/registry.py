"""The named benchmarks: where each one's items come from, how its rows map, how it is asked.

One definition per benchmark, used by decontamination and evaluation alike. A benchmark
is read from the first of its `files` found under the data dir (`--data-dir` /
$FLAMES_DATA_DIR), or from an installed package (`champ_heldout`); its Hub copy only when
asked (`NAME=hub`), or for `math`, which the Hub alone publishes. The Hub ids are the usual
public copies (not checked offline); `NAME=hf:ORG/NAME[:CONFIG]:SPLIT` or `NAME=file.jsonl`
reads any other copy with the same mapping (see `loading`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.benchmarks.items import Layout
from pipeline.errors import ConfigError

# The Qwen2.5-Math chain-of-thought instruction (the `qwen25-math-cot` prompt of the
# Qwen2.5-Math evaluation). Qwen sends it as the system turn; we append it to the user turn
# by default because several students' chat templates (DeepSeek-Math, Gemma, Mistral) have
# no system role. `[evaluation] system` moves it back to a system turn.
COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
DEFAULT_TEMPLATE = "{question}\n" + COT_INSTRUCTION


@dataclass(frozen=True)
class Prompt:
    """A zero-shot prompt: an optional system turn and a user turn holding `{question}`."""

    user: str = DEFAULT_TEMPLATE
    system: str | None = None

    def render(self, question: str) -> tuple[tuple[str, str], ...]:
        """The chat messages for one question (str.replace: LaTeX braces stay literal)."""
        turns: list[tuple[str, str]] = []
        if self.system:
            turns.append(("system", self.system))
        turns.append(("user", self.user.replace("{question}", question)))
        return tuple(turns)


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark.

    Attributes:
        name: what users type (`gsm8k`, `gsmplus_distraction`).
        title: one line for listings.
        files: paths under the data dir, tried in order (the first found is used).
        hub: `hf:ORG/NAME[:CONFIG]:SPLIT`: read with `NAME=hub` (needs the Hub or its
            cache), or None.
        hub_only: the benchmark is published on the Hub alone (full MATH): the plain name
            reads the Hub copy when no file is found, since naming it is asking for it.
        package: an installed-package source (`champ:heldout`), or None.
        layout: field mapping, subject/level/subset fields and the subset filter.
        gold: how the gold answer is read (documentation; the rule used is stored per item).
        items: the documented item count of the standard copy (None: unknown).
        prompt: the benchmark's prompt (the config's `[evaluation]` prompt overrides it).
    """

    name: str
    title: str
    files: tuple[str, ...] = ()
    hub: str | None = None
    hub_only: bool = False
    package: str | None = None
    layout: Layout = field(default_factory=Layout)
    gold: str = "the answer field"
    items: int | None = None
    prompt: Prompt = field(default_factory=Prompt)


_HASH = "GSM8K `#### N` at the end of the answer field"
_ANSWER_OR_BOXED = "the answer field, else the last \\boxed{} of the solution"
_NUMBER = "the number in the answer field (27.0 -> 27; '9 (apples)' -> 9)"
GSMPLUS_TYPE = "perturbation_type"

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "gsm8k",
            "GSM8K test: grade-school word problems",
            files=("gsm8k/test.jsonl",),
            hub="hf:openai/gsm8k:main:test",
            gold=_HASH,
            items=1319,
        ),
        Benchmark(
            "math",
            "MATH test, all 5,000 competition problems (Hub, or math/test.jsonl)",
            files=("math/test.jsonl",),
            hub="hf:DigitalLearningGmbH/MATH-lighteval:default:test",
            hub_only=True,
            layout=Layout(question=("problem",), subject="type", level="level"),
            gold=_ANSWER_OR_BOXED,
            items=5000,
        ),
        Benchmark(
            "math500",
            "MATH-500: the 500-problem MATH test subset",
            files=("math500/test.jsonl",),
            hub="hf:HuggingFaceH4/MATH-500:test",
            layout=Layout(question=("problem",), subject="subject", level="level"),
            gold=_ANSWER_OR_BOXED,
            items=500,
        ),
        Benchmark(
            "college_math",
            "CollegeMath: college algebra to differential equations",
            files=("college_math/test.jsonl",),
            layout=Layout(subject="data_topic"),
            items=2818,
        ),
        Benchmark(
            "olympiadbench",
            "OlympiadBench: English, text-only, open-ended maths",
            files=("olympiadbench/test.jsonl",),
            hub="hf:Hothan/OlympiadBench:OE_TO_maths_en_COMP:train",
            layout=Layout(answer=("final_answer",), subject="subfield"),
            gold="the final_answer list (several answers joined with ', ')",
            items=675,
        ),
        Benchmark(
            "gsmplus",
            "GSM-Plus without its 'critical thinking' type (as FLAMES reports it)",
            files=("gsmplus/test.jsonl", "gsmplus/testmini.jsonl"),
            hub="hf:qintongli/GSM-Plus:testmini",
            layout=Layout(subset=GSMPLUS_TYPE, subset_label="type", exclude=("critical thinking",)),
            items=2100,
        ),
        Benchmark(
            "gsmplus_distraction",
            "GSM-Plus 'distraction insertion' type alone",
            files=("gsmplus/test.jsonl", "gsmplus/testmini.jsonl"),
            hub="hf:qintongli/GSM-Plus:testmini",
            layout=Layout(
                subset=GSMPLUS_TYPE, subset_label="type", include=("distraction insertion",)
            ),
            items=300,
        ),
        Benchmark(
            "minerva_math",
            "Minerva-Math: undergraduate science and maths (OCW)",
            files=("minerva_math/test.jsonl",),
            hub="hf:math-ai/minervamath:test",
            layout=Layout(question=("problem",), subject="type"),
            gold=_ANSWER_OR_BOXED,
            items=272,
        ),
        Benchmark(
            "svamp",
            "SVAMP: varied one-step word problems",
            files=("svamp/test.jsonl",),
            layout=Layout(question=("Question",), answer=("Answer",), subject="Type"),
            gold=_NUMBER,
            items=1000,
        ),
        Benchmark(
            "asdiv",
            "ASDiv: diverse grade-school word problems",
            files=("asdiv/test.jsonl",),
            layout=Layout(subject="solution_type"),
            gold=_NUMBER,
            items=2215,
        ),
        Benchmark(
            "mawps",
            "MAWPS: arithmetic word problems",
            files=("mawps/test.jsonl",),
            layout=Layout(question=("input",), answer=("target",), subject="type"),
            gold=_NUMBER,
            items=2065,
        ),
        Benchmark(
            "aime24",
            "AIME 2024 (I and II)",
            files=("aime24/test.jsonl",),
            hub="hf:HuggingFaceH4/aime_2024:train",
            layout=Layout(question=("problem",)),
            gold=_NUMBER,
            items=30,
        ),
        Benchmark(
            "amc23",
            "AMC 2023",
            files=("amc23/test.jsonl",),
            hub="hf:math-ai/amc23:test",
            layout=Layout(question=("problem",)),
            gold=_NUMBER,
            items=40,
        ),
        Benchmark(
            "champ_heldout",
            "CHAMP held-out part (embedded; the quickstart's benchmark)",
            package="champ:heldout",
            layout=Layout(question=("problem",), subject="category"),
            items=50,
        ),
    )
}


def benchmark_names() -> list[str]:
    """The registry's names, in listing order."""
    return list(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called `name`; an unknown name is an error listing the known ones."""
    found = BENCHMARKS.get(name)
    if found is None:
        raise ConfigError(
            f"unknown benchmark '{name}' (known: {', '.join(BENCHMARKS)}; or give a JSONL "
            "path, hf:ORG/NAME[:CONFIG]:SPLIT, or NAME=SOURCE)"
        )
    return found
