"""The 12 strategies of FLAMES as declarative definitions (templates live in the database).

Conventions the runner relies on: a strategy whose inputs are `seeds` shows `k`
seeds; a stage with `multi` yields `k` problems per reply; `problem` starts as the
seed question, and `answer` as the seed answer, so loops can refine them round
after round.
"""

from __future__ import annotations

from pipeline.strategies import checks
from pipeline.strategies.definition import Param, Stage, Strategy
from pipeline.taxonomy import load_taxonomy

LEVELS = ("grade_school", "middle_school", "high_school", "competition", "college")

_N_CONCEPTS = Param("n_concepts", "int", 3, "most concepts to extract", minimum=1, maximum=8)
_WRITE = Stage("write", "write a new problem from the concepts", sections=("problem",))
_EXTRACT = Stage("extract", "name the key concepts of the seed", sections=("concepts",))

FEW_SHOT = Strategy(
    "few_shot",
    "Few-shot",
    "A new problem modelled on k sampled seed problems.",
    inputs="seeds",
    answer_rule="none",
    stages=(
        Stage("write", "write a new problem in the style of the examples", sections=("problem",)),
    ),
    params=(Param("k", "int", 3, "seed problems shown as examples", minimum=1, maximum=8),),
)

PARAPHRASE = Strategy(
    "paraphrase",
    "Paraphrase",
    "Rephrase the seed problem with the same mathematics; the answer is kept.",
    inputs="seed",
    answer_rule="keeps",
    answer_from="seed_answer",
    stages=(Stage("rephrase", "reword the seed, keeping every number", sections=("problem",)),),
    check=checks.check_paraphrase,
)

KEY_CONCEPTS = Strategy(
    "key_concepts",
    "Key concepts",
    "Extract the seed's key concepts, then write a new problem from the concepts alone.",
    inputs="seed",
    answer_rule="none",
    stages=(_EXTRACT, _WRITE),
    params=(_N_CONCEPTS,),
)

SEEDED_KEY_CONCEPTS = Strategy(
    "seeded_key_concepts",
    "Seeded key concepts",
    "As key_concepts, but the seed problem is also shown when writing.",
    inputs="seed",
    answer_rule="none",
    stages=(
        _EXTRACT,
        Stage("write", "write a new problem from the seed and its concepts", sections=("problem",)),
    ),
    params=(_N_CONCEPTS,),
)

SUGGESTER_EDITOR = Strategy(
    "suggester_editor",
    "Suggester-Editor",
    "A suggester proposes ways to make the problem harder; an editor applies them; N rounds.",
    inputs="seed",
    answer_rule="none",
    stages=(
        Stage(
            "suggest",
            "propose changes that make the problem harder (no solving)",
            sections=("suggestions",),
            repeat="rounds",
        ),
        Stage(
            "edit",
            "rewrite the problem applying the suggestions",
            sections=("problem",),
            repeat="rounds",
        ),
    ),
    params=(Param("rounds", "int", 2, "suggest/edit rounds", minimum=1, maximum=5),),
)

IQC = Strategy(
    "iqc",
    "Iterative question composing",
    "Compose a harder problem that needs the previous result plus further steps; iterate.",
    inputs="seed",
    answer_rule="none",
    stages=(
        Stage(
            "compose",
            "compose a harder problem building on the previous answer",
            sections=("problem", "answer"),
            repeat="iterations",
        ),
    ),
    params=(Param("iterations", "int", 2, "composition iterations", minimum=1, maximum=5),),
)

ASK_ME_ANYTHING = Strategy(
    "ask_me_anything",
    "Ask me anything",
    "Several different new problems inspired by one seed.",
    inputs="seed",
    answer_rule="none",
    stages=(
        Stage(
            "ask",
            "write k new problems inspired by the seed",
            sections=("problem",),
            multi="problem",
        ),
    ),
    params=(Param("k", "int", 3, "problems written per seed", minimum=1, maximum=10),),
)

SELF_VERIFICATION = Strategy(
    "self_verification",
    "Self-verification",
    "State the answer as a given and ask for a former given (backward reasoning).",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="answer",
    stages=(
        Stage(
            "invert",
            "make a given the unknown and the answer a given",
            sections=("problem", "answer"),
        ),
    ),
    check=checks.check_self_verification,
)

FOBAR = Strategy(
    "fobar",
    "FOBAR",
    "Mask a number of the seed as x and ask for x given the seed's answer.",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="masked",
    stages=(
        Stage("mask", "replace one given number with x", sections=("problem", "masked")),
        Stage(
            "compose",
            "append the known answer and ask for x (no model call)",
            kind="render",
            output="problem",
        ),
    ),
    check=checks.check_fobar,
)

QFT = Strategy(
    "qft",
    "Question generation (seedless)",
    "A new problem from a question-generation prompt alone, with no seed.",
    inputs="none",
    answer_rule="none",
    stages=(Stage("write", "write an original problem for the level", sections=("problem",)),),
    params=(Param("level", "str", "high_school", "target level", choices=LEVELS),),
)

TAXONOMY_KEY_CONCEPTS = Strategy(
    "taxonomy_key_concepts",
    "Taxonomy key concepts",
    "Walk the math taxonomy: topic and concepts -> key ideas -> a new problem (no seed).",
    inputs="taxonomy",
    answer_rule="none",
    stages=(
        Stage(
            "expand", "list key ideas for the picked topic and concepts", sections=("key_concepts",)
        ),
        Stage("write", "write a problem that combines the ideas", sections=("problem",)),
    ),
    params=(
        Param(
            "coverage",
            "str",
            "leaves",
            "what the walk spreads evenly over",
            choices=("leaves", "topics", "subjects"),
        ),
        Param(
            "subjects",
            "list",
            [],
            "subject ids to walk (empty: all)",
            choices=tuple(s.id for s in load_taxonomy().subjects),
        ),
        Param("levels", "list", [], "levels to walk (empty: all)", choices=LEVELS),
        Param(
            "concepts_per_problem",
            "int",
            2,
            "taxonomy concepts combined per problem",
            minimum=1,
            maximum=4,
        ),
        _N_CONCEPTS,
    ),
)

DISTRACTION_INSERTION = Strategy(
    "distraction_insertion",
    "Distraction insertion",
    "Insert irrelevant but plausible details into the seed; the answer is kept.",
    inputs="seed_answer",
    answer_rule="keeps",
    answer_from="seed_answer",
    stages=(Stage("distract", "add details that do not change the answer", sections=("problem",)),),
    params=(
        Param("n_distractions", "int", 2, "sentences of distraction to add", minimum=1, maximum=4),
    ),
    check=checks.check_distraction,
)

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        FEW_SHOT,
        PARAPHRASE,
        KEY_CONCEPTS,
        SEEDED_KEY_CONCEPTS,
        SUGGESTER_EDITOR,
        IQC,
        ASK_ME_ANYTHING,
        SELF_VERIFICATION,
        FOBAR,
        QFT,
        TAXONOMY_KEY_CONCEPTS,
        DISTRACTION_INSERTION,
    )
}
